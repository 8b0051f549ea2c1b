import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { skipUnlessInstalled } from './support/external-tools.ts';
import { afterProvisioning, protocolSpec, runBash, shellBlocks, workedExampleInstall, workedExampleTools } from './support/worked-example.ts';

/**
 * docs/PROTOCOL.md §17, §18 and §19 (issue 18): the worked examples of a factory certificate, a
 * provisioning code and discovery, run as written, in order, in one bash process after §12's
 * settings, against a fresh platform. What is checked is what the reader sees (the example's own
 * checks passing, openssl's verdicts) and what the operator sees in the store afterwards.
 */

interface ZeroTouchExamples {
  readonly settings: string;
  readonly factory: readonly string[];
  readonly code: readonly string[];
  readonly discovery: readonly string[];
}

async function zeroTouchExamples(): Promise<ZeroTouchExamples> {
  const spec = await protocolSpec();
  const [settings] = shellBlocks(spec, /^## 12\. Worked example/m, 7);
  assert.ok(settings !== undefined);
  return {
    settings,
    factory: shellBlocks(spec, /^### Worked example: a factory certificate/m, 4),
    code: shellBlocks(spec, /^### Worked example: a provisioning code/m, 3),
    discovery: shellBlocks(spec, /^### Worked example: asking discovery/m, 1),
  };
}

describe('docs/PROTOCOL.md §17–§19 worked examples', () => {
  it('a factory device provisions with no request, a code device registers its code, and discovery answers', async (t) => {
    if (skipUnlessInstalled(t, [...workedExampleTools], workedExampleInstall, 'PROVISIO_TEST_REQUIRE_MOSQUITTO')) return;
    const examples = await zeroTouchExamples();
    await afterProvisioning(t, async ({ fixture, workDir, rootFile }) => {
      const script = [examples.settings, ...examples.factory, ...examples.code, ...examples.discovery].join('\n');
      const result = await runBash(script, workDir, {
        API: fixture.apiUrl,
        TOKEN: fixture.adminToken,
        HOST: 'localhost',
        PORT: String(fixture.platform.provisionBroker.mqttsPort),
        ROOT: rootFile,
        DISCOVERY: `https://localhost:${fixture.platform.discoveryPort}`,
      });
      assert.equal(result.code, 0, `the §17–§19 worked examples failed:\n${result.output}`);
      assert.match(result.output, /fd-client\.pem: OK/, 'openssl verified the chain of the certificate issued to the factory device');

      const { store } = fixture.platform;
      const account = await store.getAccountByName('zt-factory');
      assert.ok(account, 'the example made its account');
      const factoryRequest = (await store.listProvisionRequests({ accountId: account.id, clientIds: ['fd-0001'] })).items[0];
      assert.ok(factoryRequest, 'a request was made for the factory device');
      assert.equal(factoryRequest.category, 'meters');
      assert.match(factoryRequest.createdBy, /^enrollment-group:/);
      assert.equal(factoryRequest.username, 'factory-certificate');

      const codes = await store.listProvisioningCodes({ accountId: account.id });
      assert.equal(codes.total, 1);
      assert.equal(codes.items[0]?.status, 'REGISTERED');
      assert.equal(codes.items[0]?.clientId, '0200005e0001');
      assert.equal(codes.items[0]?.codeHash, null, 'the used code is gone; only who registered stays');

      const where = JSON.parse(await readFile(join(workDir, 'where.json'), 'utf8')) as { brokerUrl: string; account: string | null };
      assert.equal(where.brokerUrl, `mqtts://localhost:${fixture.platform.provisionBroker.mqttsPort}`);
      assert.equal(where.account, 'zt-factory');
    });
  });
});
