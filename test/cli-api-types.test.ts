import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { promisify } from 'node:util';

const run = promisify(execFile);
const script = new URL('../scripts/generate-cli-api-types.ts', import.meta.url).pathname;
const committed = new URL('../cli/generated/api-types.ts', import.meta.url);

/**
 * The admin CLI's HTTP types are generated from the OpenAPI document the API serves and committed
 * (cli/generated/api-types.ts). Generated again here into a temporary directory, they must be the
 * same: a route or schema changed without `npm run generate:cli-types` fails this test, so the CLI
 * and the API cannot drift apart unnoticed (and `npm run typecheck` then checks the CLI against them).
 */
describe('Admin CLI: generated API types', () => {
  it('Should be what the served OpenAPI document generates now', async () => {
    const directory = await mkdtemp(join(tmpdir(), 'provisio-cli-types-'));
    try {
      const output = join(directory, 'api-types.ts');
      await run(process.execPath, ['--import', 'tsx', script, '--out', output], { timeout: 120_000 });
      const fresh = await readFile(output, 'utf8');
      assert.ok(fresh.includes("'/api/v1/provision-requests/batch'"), 'the generator saw the route table');
      assert.ok(
        fresh === (await readFile(committed, 'utf8')),
        'cli/generated/api-types.ts is stale: run `npm run generate:cli-types` and commit it (then fix what `npm run typecheck` reports in cli/)',
      );
    } finally {
      await rm(directory, { recursive: true, force: true });
    }
  });
});
