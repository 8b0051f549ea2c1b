/** Command-line flags shared by the benchmarks: --json PATH, --rounds N, and each one's own. */
import { parseArgs } from 'node:util';

export interface FlagSpec {
  readonly [name: string]: { readonly default: number | string | boolean; readonly help: string };
}

export type Flags<S extends FlagSpec> = { -readonly [K in keyof S]: S[K]['default'] } & { json: string | undefined };

/** Parses --name value flags; numbers are checked to be whole and positive. --help prints usage. */
export function parseFlags<S extends FlagSpec>(usage: string, spec: S, argv = process.argv.slice(2)): Flags<S> {
  const options: Record<string, { type: 'string' | 'boolean' }> = { json: { type: 'string' }, help: { type: 'boolean' } };
  for (const [name, flag] of Object.entries(spec)) options[name] = { type: typeof flag.default === 'boolean' ? 'boolean' : 'string' };
  const { values } = parseArgs({ args: argv, options, strict: true, allowPositionals: false });
  if (values['help']) {
    const lines = Object.entries(spec).map(([name, flag]) => `  --${name.padEnd(14)} ${flag.help} (default ${String(flag.default)})`);
    process.stdout.write(`${usage}\n\n  --json PATH      write the results as JSON to PATH\n${lines.join('\n')}\n`);
    process.exit(0);
  }
  const flags: Record<string, unknown> = { json: values['json'] };
  for (const [name, flag] of Object.entries(spec)) {
    const raw = values[name];
    if (raw === undefined) flags[name] = flag.default;
    else if (typeof flag.default === 'number') {
      if (typeof raw !== 'string' || !/^\d+$/.test(raw)) throw new Error(`--${name} takes a whole number, not ${String(raw)}`);
      flags[name] = Number(raw);
    } else flags[name] = raw;
  }
  return flags as Flags<S>;
}
