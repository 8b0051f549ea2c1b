import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ESLint } from 'eslint';
import { codeSpans, findTables } from './support/markdown-tables.ts';

/**
 * The checks of `npm test` that keep the code in shape (issue 13 §2): the README's layer table is
 * what eslint.config.js enforces, a forbidden import between folders is an error, and knip fails
 * on an export nothing imports.
 */
const root = fileURLToPath(new URL('..', import.meta.url));
const eslint = new ESLint({ cwd: root });

/** What ESLint says about `source` saved as `file` (a path in the repository, which need not exist). */
async function lint(file: string, source: string): Promise<ESLint.LintResult> {
  const [result] = await eslint.lintText(source, { filePath: join(root, file) });
  return result!;
}

/** `file` importing `target` (an existing file of ours): the layer-rule messages. */
async function layerProblems(file: string, target: string): Promise<string[]> {
  assert.ok(existsSync(join(root, target)), `${target} is gone: pick another file of its folder`);
  const specifier = `../${target}`;
  const result = await lint(file, `import * as imported from '${specifier}';\n\nexport const probe = imported;\n`);
  return result.messages.filter((message) => message.ruleId === 'boundaries/dependencies').map((message) => message.message);
}

describe('layer rules', () => {
  for (const [file, target, why] of [
    ['protocol/probe.ts', 'store/types.ts', 'protocol/ imports nothing of ours'],
    ['agent-sim/probe.ts', 'broker/shared-state.ts', 'agent-sim/ imports only protocol/'],
    ['agent-sim/probe.ts', 'errors/platform-error.ts', 'agent-sim/ imports only protocol/, even from a lower layer'],
    ['broker/probe.ts', 'provisioner/transport.ts', 'broker/ and provisioner/ are one layer'],
    ['store/probe.ts', 'api/app.ts', 'a folder never imports a higher layer'],
    ['cluster/probe.ts', 'broker/shared-state.ts', 'the cycle cluster/reply-node.ts used to make'],
    ['scripts/probe.ts', 'test/support/markdown-tables.ts', 'scripts/ and bench/ take shared helpers from dev-support/, not test/'],
    ['bench/probe.ts', 'scripts/cluster.ts', 'bench/ and scripts/ are one layer'],
  ] as const) {
    it(`Should report ${file} importing ${target}: ${why}`, async () => {
      const [from, to] = [file.split('/')[0]!, target.split('/')[0]!];
      const problems = await layerProblems(file, target);
      assert.equal(problems.length, 1, `expected one layer error, got ${JSON.stringify(problems)}`);
      assert.match(problems[0]!, new RegExp(`"${from}".*"${to}"`));
    });
  }

  for (const [file, target] of [
    ['store/probe.ts', 'errors/platform-error.ts'],
    ['agent-sim/probe.ts', 'protocol/topics.ts'],
    ['platform/probe.ts', 'broker/shared-state.ts'],
    ['bench/probe.ts', 'dev-support/ports.ts'],
    ['test/probe.ts', 'platform/platform.ts'],
    ['store/probe.ts', 'store/types.ts'],
  ] as const) {
    it(`Should allow ${file} importing ${target}`, async () => {
      assert.deepEqual(await layerProblems(file, target), []);
    });
  }

  it('Should report a type-only import and a dynamic import across layers too', async () => {
    const typeOnly = await lint('protocol/probe.ts', "import type { Account } from '../store/types.ts';\n\nexport type Probe = Account;\n");
    const dynamic = await lint('store/probe.ts', "export const probe = () => import('../api/app.ts');\n");
    for (const result of [typeOnly, dynamic])
      assert.deepEqual(
        result.messages.map((message) => message.ruleId),
        ['boundaries/dependencies'],
      );
  });

  it('Should report a file in a folder the layer table does not name', async () => {
    const result = await lint('newfolder/probe.ts', 'export const probe = 1;\n');
    assert.deepEqual(
      result.messages.map((message) => message.ruleId),
      ['boundaries/no-unknown-files'],
    );
  });

  it('Should enforce exactly the layer table of the README', async () => {
    const config = (await eslint.calculateConfigForFile(join(root, 'store/types.ts'))) as EnforcedConfig;
    const folders = config.settings['boundaries/elements'].map((element) => element.type);
    const [, { policies }] = config.rules['boundaries/dependencies'];
    const enforced = new Map(policies.map((policy) => [policy.from.element.type, [...policy.allow.to.element.types.anyOf].sort()]));

    const [table] = findTables(readFileSync(join(root, 'README.md'), 'utf8'), '| Layer | Path |');
    assert.ok(table, 'README.md has no "| Layer | Path |" table');
    const rows = table.rows.map(([layer, path, , mayImport]) => ({
      layer: Number(layer),
      folder: codeSpans(path!)[0]!.replace(/\/$/, ''),
      mayImport: mayImport!,
    }));
    const foldersOfLayers = (from: number, to: number) => rows.filter((row) => row.layer >= from && row.layer <= to).map((row) => row.folder);
    const readmeSays = (cell: string): string[] => {
      if (cell === 'nothing of ours') return [];
      const range = /^layers? (\d+)(?:–(\d+))?$/.exec(cell);
      if (range) return foldersOfLayers(Number(range[1]), Number(range[2] ?? range[1]));
      return codeSpans(cell).map((folder) => folder.replace(/\/$/, ''));
    };

    assert.deepEqual(
      rows.map((row) => row.folder),
      folders,
      'the README lists the folders of eslint.config.js, bottom to top',
    );
    for (const row of rows) {
      assert.deepEqual(readmeSays(row.mayImport).sort(), enforced.get(row.folder) ?? [], `what ${row.folder}/ may import`);
      assert.ok(
        foldersOfLayers(row.layer, Infinity).every((folder) => !enforced.get(row.folder)?.includes(folder)),
        `${row.folder}/ imports no layer of its own or above`,
      );
    }
  });
});

/** The parts of the computed ESLint configuration read above (eslint.config.js makes them). */
interface EnforcedConfig {
  readonly settings: { readonly 'boundaries/elements': readonly { readonly type: string }[] };
  readonly rules: {
    readonly 'boundaries/dependencies': readonly [unknown, { readonly policies: readonly Policy[] }];
  };
}
interface Policy {
  readonly from: { readonly element: { readonly type: string } };
  readonly allow: { readonly to: { readonly element: { readonly types: { readonly anyOf: readonly string[] } } } };
}

describe('dead-code check', () => {
  it('Should fail knip on an export nothing imports, and name it', { timeout: 60_000 }, () => {
    const fixture = join(root, 'test/fixtures/knip-unused-export');
    const options = (dir: string) => JSON.parse(readFileSync(join(dir, 'knip.json'), 'utf8')) as { ignoreExportsUsedInFile?: boolean };
    assert.equal(options(fixture).ignoreExportsUsedInFile, options(root).ignoreExportsUsedInFile, 'the fixture is checked as the repository is');

    const run = spawnSync(process.execPath, [join(root, 'node_modules/knip/bin/knip.js'), '--directory', fixture, '--no-progress'], {
      encoding: 'utf8',
      timeout: 50_000,
    });
    assert.equal(run.status, 1, `knip exit ${run.status}: ${run.stdout}${run.stderr}`);
    assert.match(run.stdout, /Unused exports \(1\)/);
    assert.match(run.stdout, /unusedFarewell\s+function\s+greeting\.ts:\d+/);
    assert.doesNotMatch(run.stdout, /punctuation|greeting\s+function/, 'an export used in its own file, or imported, is not reported');
  });
});
