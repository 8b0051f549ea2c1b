import { parseArgs } from 'node:util';
import type { ApiClient } from './api-client.ts';
import type { AccountNames } from './account-names.ts';
import { UsageError } from './exit-codes.ts';
import type { Output } from './output.ts';

/**
 * The shape of every `provisio GROUP ACTION` command: its options (with the help text beside each,
 * so --help cannot leave one out), its positional arguments and what it does. main.ts parses the
 * command line with node:util parseArgs against these options plus the global ones.
 */
export interface OptionSpec {
  readonly type: 'string' | 'boolean';
  /** Repeatable: `--tag a --tag b` (commas also separate values where the help says so). */
  readonly multiple?: boolean;
  readonly short?: string;
  /** Shown after the option name in --help, e.g. NAME. */
  readonly value?: string;
  readonly help: string;
}

export type OptionSpecs = Readonly<Record<string, OptionSpec>>;

/** The parsed value of each option: a string, strings, or a flag; absent options are undefined. */
export type OptionValues<O extends OptionSpecs> = {
  readonly [K in keyof O]?: O[K]['type'] extends 'boolean' ? boolean : O[K]['multiple'] extends true ? string[] : string;
};

/** What a command runs with. The API client is made on first use, so --help and usage errors need no token. */
export interface CommandContext {
  readonly out: Output;
  api(): ApiClient;
  readonly accounts: AccountNames;
  /** Aborted by Ctrl-C. */
  readonly signal: AbortSignal;
  /** Reads a file named on the command line ('-': standard input). */
  readFile(path: string): Promise<string>;
}

export interface Command<O extends OptionSpecs = OptionSpecs> {
  readonly name: string;
  readonly summary: string;
  /** The arguments after `provisio GROUP ACTION`, e.g. `NAME [--broker-url URL]`. */
  readonly usage: string;
  /** More lines for --help. */
  readonly details?: string;
  readonly options: O;
  /** How many positional arguments it takes. */
  readonly positionals: { readonly min: number; readonly max: number };
  /** Returns the exit code (0 when it returns nothing). */
  run(context: CommandContext, values: OptionValues<O>, positionals: readonly string[]): Promise<number | void>;
}

/** Erases a command's option types, so commands of different options share one table (as api/route-spec.ts does). */
export type AnyCommand = Command<OptionSpecs>;

/** Writes a command: its `run` gets the static types of its own options. */
export function defineCommand<O extends OptionSpecs>(command: Command<O>): AnyCommand {
  return command as unknown as AnyCommand;
}

/** `provisio NAME COMMAND ...`, or `provisio NAME ...` when the group is one command (`command`). */
export interface CommandGroup {
  readonly name: string;
  readonly summary: string;
  readonly commands: readonly AnyCommand[];
  readonly command?: AnyCommand;
}

/** Options every command takes. */
export const globalOptions = {
  url: { type: 'string', value: 'URL', help: 'The API, e.g. http://127.0.0.1:8080 (or PROVISIO_URL, or url in the config file).' },
  token: {
    type: 'string',
    value: 'TOKEN',
    help: 'The API token (or PROVISIO_TOKEN, or token in the config file; a flag is visible to other local users in ps).',
  },
  config: { type: 'string', value: 'FILE', help: 'The config file (default: ~/.config/provisio/config.json).' },
  json: { type: 'boolean', help: "Print the API's JSON instead of a table." },
  help: { type: 'boolean', short: 'h', help: 'Show this help.' },
} as const satisfies OptionSpecs;

export type GlobalValues = OptionValues<typeof globalOptions>;

/** Parses `args` against the command's options and the global ones; a UsageError says what is wrong. */
export function parseCommandLine(command: AnyCommand, args: readonly string[]): { values: OptionValues<OptionSpecs> & GlobalValues; positionals: string[] } {
  const all: OptionSpecs = { ...globalOptions, ...command.options };
  const options: Record<string, { type: 'string' | 'boolean'; multiple?: boolean; short?: string }> = {};
  for (const [name, spec] of Object.entries(all)) {
    options[name] = { type: spec.type, ...(spec.multiple ? { multiple: true } : {}), ...(spec.short ? { short: spec.short } : {}) };
  }
  let parsed;
  try {
    parsed = parseArgs({ args: [...args], options, allowPositionals: true, strict: true });
  } catch (error) {
    throw new UsageError((error as Error).message);
  }
  const values = parsed.values as OptionValues<OptionSpecs> & GlobalValues;
  if (values.help) return { values, positionals: parsed.positionals };
  const count = parsed.positionals.length;
  if (count < command.positionals.min) throw new UsageError(`missing argument: ${command.usage}`);
  if (count > command.positionals.max) throw new UsageError(`unexpected argument '${parsed.positionals[command.positionals.max]}'`);
  return { values, positionals: parsed.positionals };
}

function optionLines(specs: OptionSpecs): string[] {
  const rows = Object.entries(specs).map(([name, spec]) => {
    const flag = `${spec.short ? `-${spec.short}, ` : ''}--${name}${spec.value ? ` ${spec.value}` : ''}`;
    return { flag, help: `${spec.help}${spec.multiple ? ' Repeatable.' : ''}` };
  });
  const width = Math.max(...rows.map((row) => row.flag.length));
  return rows.map((row) => `  ${row.flag.padEnd(width)}  ${row.help}`);
}

/** `provisio GROUP ACTION --help`. */
export function commandHelp(group: CommandGroup, command: AnyCommand): string {
  const lines = [['provisio', group.name, command.name, command.usage].filter((part) => part !== '').join(' '), '', command.summary];
  if (command.details) lines.push('', command.details);
  if (Object.keys(command.options).length > 0) lines.push('', 'Options:', ...optionLines(command.options));
  lines.push('', 'Global options:', ...optionLines(globalOptions));
  return `${lines.join('\n')}\n`;
}

/** `provisio GROUP --help`. */
export function groupHelp(group: CommandGroup): string {
  const width = Math.max(...group.commands.map((command) => command.name.length));
  return [
    `provisio ${group.name}: ${group.summary}`,
    '',
    'Commands:',
    ...group.commands.map((command) => `  provisio ${group.name} ${command.name.padEnd(width)}  ${command.summary}`),
    '',
    `Run \`provisio ${group.name} COMMAND --help\` for its options.`,
    '',
  ].join('\n');
}
