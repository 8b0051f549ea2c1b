import assert from 'node:assert/strict';
import { once } from 'node:events';
import { mkdtemp, readFile, rm, stat } from 'node:fs/promises';
import { createServer, type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { loadConfig } from '../config/config.ts';
import { createLogger } from '../log/logger.ts';
import { startPlatform } from '../platform/platform.ts';

/**
 * The platform keeps only the admin token's hash. A first start that generates the token and then
 * fails (here: the HTTP port is taken) must still leave the token to the operator, in its file.
 */
describe('the admin token of a failed first start', () => {
  it('Should be in {dataDir}/admin-token (0600) and open the API once the platform starts', async () => {
    const dataDir = await mkdtemp(join(tmpdir(), 'provisio-token-'));
    const blocker = createServer();
    blocker.listen(0, '127.0.0.1');
    await once(blocker, 'listening');
    const takenPort = (blocker.address() as AddressInfo).port;
    const base = {
      dataDir,
      bindHost: '127.0.0.1',
      provisionMqttPort: 0,
      provisionMqttsPort: 0,
      accountMqttsPort: 0,
      discoveryPort: 0,
      logLevel: 'silent' as const,
    };
    try {
      await assert.rejects(startPlatform(loadConfig({}, { ...base, httpPort: takenPort }), createLogger('silent')));
      const file = join(dataDir, 'admin-token');
      assert.equal((await stat(file)).mode & 0o777, 0o600);
      const token = (await readFile(file, 'utf8')).trim();
      blocker.close();
      const platform = await startPlatform(loadConfig({}, { ...base, httpPort: 0 }), createLogger('silent'));
      try {
        assert.equal(platform.generatedAdminToken, null, 'not generated twice');
        const response = await fetch(`http://127.0.0.1:${platform.http.port}/api/v1/accounts`, { headers: { authorization: `Bearer ${token}` } });
        assert.equal(response.status, 200);
      } finally {
        await platform.close();
      }
    } finally {
      blocker.close();
      await rm(dataDir, { recursive: true, force: true });
    }
  });
});
