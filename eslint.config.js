import { fileURLToPath } from 'node:url';
import js from '@eslint/js';
import prettier from 'eslint-config-prettier';
import boundaries from 'eslint-plugin-boundaries';
import tseslint from 'typescript-eslint';

/**
 * The layers of the README's layout table, bottom to top. A folder may import the folders of the
 * rows below its own and nothing else of ours: nothing above it, nothing on its own row, so no
 * two folders can import each other. `only` narrows a folder to fewer (agent-sim is built on the
 * protocol alone, so an outside agent can be too; the admin CLI and the web console on the HTTP
 * API alone, so an outside client can be too). test/layer-rules.test.ts checks that the README
 * table says the same as the rules made from this list.
 */
const layers = [
  { folders: ['protocol'] },
  { folders: ['errors'] },
  { folders: ['config'] },
  { folders: ['log', 'metrics'] },
  { folders: ['crypto'] },
  { folders: ['certs'] },
  { folders: ['store'] },
  { folders: ['cluster'] },
  { folders: ['broker', 'provisioner', 'api'] },
  { folders: ['agent-sim'], only: ['protocol'] },
  { folders: ['cli', 'console'], only: [] },
  { folders: ['platform'] },
  { folders: ['dev-support'] },
  { folders: ['bench', 'scripts'] },
  { folders: ['test'] },
];

/** What `folder` may import, bottom to top. */
function mayImport(folder) {
  const row = layers.findIndex((layer) => layer.folders.includes(folder));
  if (row < 0) throw new Error(`${folder}/ is not in the layer list`);
  return layers[row].only ?? layers.slice(0, row).flatMap((layer) => layer.folders);
}

const folders = layers.flatMap((layer) => layer.folders);

export default tseslint.config(
  { ignores: ['dist/', 'node_modules/', 'data/', 'bench/results/', 'test/fixtures/'] },
  js.configs.recommended,
  tseslint.configs.recommended,
  {
    // The JavaScript files run on Node (agent-sim/bin.js, this file); TypeScript checks the rest.
    files: ['**/*.js'],
    languageOptions: { globals: { process: 'readonly', console: 'readonly', setImmediate: 'readonly', URL: 'readonly' } },
  },
  {
    rules: {
      // `_name` is the codebase's way to say "deliberately unused": an express error handler
      // needs its fourth parameter, and `const { secret: _secret, ...rest } = x` drops a field.
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', ignoreRestSiblings: true }],
      // `let x; t.after(() => x?.close()); ... x = await start()`: the hook reads x before its one
      // assignment, and a const there would throw in the hook when the test returns early.
      'prefer-const': ['error', { ignoreReadBeforeAssign: true }],
    },
  },
  {
    files: ['**/*.ts', '**/*.js'],
    ignores: ['*.js'], // this file and other tool configurations at the top belong to no folder
    plugins: { boundaries },
    settings: {
      'boundaries/root-path': fileURLToPath(new URL('.', import.meta.url)),
      'boundaries/elements': folders.map((folder) => ({ type: folder, pattern: folder, partialMatch: false })),
    },
    rules: {
      // Each folder is one element: imports inside a folder are free, imports between folders
      // follow the layer list, and an import of one of our files outside every folder is reported.
      'boundaries/dependencies': [
        'error',
        {
          default: 'disallow',
          checkUnknownLocals: true,
          policies: folders.map((folder) => ({
            from: { element: { type: folder } },
            allow: { to: { element: { types: { anyOf: mayImport(folder) } } } },
          })),
        },
      ],
      // A new top-level folder must be given its row in the layer list (and in the README) first.
      'boundaries/no-unknown-files': 'error',
    },
  },
  prettier,
);
