import { readFile } from 'node:fs/promises';
import { text } from 'node:stream/consumers';
import { AccountNames } from './account-names.ts';
import { ApiClient } from './api-client.ts';
import { commandHelp, globalOptions, groupHelp, parseCommandLine, type AnyCommand, type CommandContext, type CommandGroup } from './command.ts';
import { accountsGroup } from './commands/accounts.ts';
import { auditGroup } from './commands/audit.ts';
import { categoriesGroup } from './commands/categories.ts';
import { certsGroup } from './commands/certs.ts';
import { configurationsGroup } from './commands/configurations.ts';
import { deviceAssignmentsGroup } from './commands/device-assignments.ts';
import { devicesGroup } from './commands/devices.ts';
import { enrollmentGroupsGroup } from './commands/enrollment-groups.ts';
import { jobsGroup } from './commands/jobs.ts';
import { manufacturerCasGroup } from './commands/manufacturer-cas.ts';
import { codesGroup } from './commands/provisioning-codes.ts';
import { renewGroup } from './commands/renew.ts';
import { requestsGroup } from './commands/requests.ts';
import { resolveConnection } from './connection.ts';
import { exitCodes, InterruptedError, RefusedError, UnreachableError, UsageError } from './exit-codes.ts';
import { printJson, printProblem, type Output } from './output.ts';

export { exitCodes } from './exit-codes.ts';

/** Every `provisio GROUP`, in the order --help lists them. */
const groups: readonly CommandGroup[] = [
  accountsGroup,
  requestsGroup,
  codesGroup,
  enrollmentGroupsGroup,
  manufacturerCasGroup,
  deviceAssignmentsGroup,
  devicesGroup,
  categoriesGroup,
  configurationsGroup,
  jobsGroup,
  certsGroup,
  renewGroup,
  auditGroup,
];

/** The widest group name: the summaries line up after it, two spaces on. */
const groupNameWidth = Math.max(...groups.map((group) => group.name.length));

const usage = `provisio: the admin CLI of a provisio platform, over its HTTP API (GET /api/v1/openapi.json)

Usage: provisio GROUP COMMAND [options]

${groups.map((group) => `  ${group.name.padEnd(groupNameWidth + 1)} ${group.summary}`).join('\n')}

Run \`provisio GROUP --help\` for its commands, \`provisio GROUP COMMAND --help\` for their options.

Connection: --url URL and --token TOKEN, or PROVISIO_URL and PROVISIO_TOKEN, or a config file
(--config FILE, default ~/.config/provisio/config.json) holding {"url": "...", "token": "..."},
readable by its owner only (chmod 600). The first of these that is set wins.

Every command takes --json (print the API's JSON, for scripts) and --help.

Exit codes: ${exitCodes.ok} done; ${exitCodes.refused} the API refused (its problem printed: title, detail, errors);
  ${exitCodes.usage} bad command line, input or config file (nothing sent); ${exitCodes.unreachable} cannot reach the API,
  no answer in time, or the token refused (401); ${exitCodes.internal} internal error; ${exitCodes.interrupted} stopped by Ctrl-C.
`;

/** What main() runs against: the process in bin.js, the same in tests. */
export interface CliEnvironment {
  readonly env: Readonly<Record<string, string | undefined>>;
  readonly stdout: (text: string) => void;
  readonly stderr: (text: string) => void;
  /** Aborted by Ctrl-C (SIGINT). */
  readonly signal: AbortSignal;
  readonly stdin: NodeJS.ReadableStream;
}

const globalValueOptions = new Set(Object.entries(globalOptions).flatMap(([name, spec]) => (spec.type === 'string' ? [`--${name}`] : [])));

/** What the command line names: a group and one of its commands, as far as it names them. */
interface Located {
  readonly group?: CommandGroup;
  readonly command?: AnyCommand;
  /** A group or command name that names nothing. */
  readonly unknown?: string;
  /** The arguments for the command's own parser: the global options before the group, and all after the command. */
  readonly rest: string[];
  /** --help or -h is among the arguments. */
  readonly help: boolean;
}

/** Global options may come before the group (`provisio --json accounts ls`) as well as anywhere after it. */
function locate(argv: readonly string[]): Located {
  const help = argv.includes('--help') || argv.includes('-h');
  let index = 0;
  while (index < argv.length && argv[index]!.startsWith('-')) index += globalValueOptions.has(argv[index]!) ? 2 : 1; // `--url URL`; `--url=URL` is one
  const leading = argv.slice(0, index);
  const groupName = argv[index];
  if (groupName === undefined) return { rest: leading, help };
  const group = groups.find((candidate) => candidate.name === groupName);
  if (!group) return { unknown: groupName, rest: leading, help };
  if (group.command) return { group, command: group.command, rest: [...leading, ...argv.slice(index + 1)], help };
  const commandName = argv[index + 1];
  if (commandName === undefined || commandName.startsWith('-')) return { group, rest: [], help };
  const command = group.commands.find((candidate) => candidate.name === commandName);
  if (!command) return { group, unknown: commandName, rest: [], help };
  return { group, command, rest: [...leading, ...argv.slice(index + 2)], help };
}

function readInput(stdin: NodeJS.ReadableStream): (path: string) => Promise<string> {
  return async (path) => {
    if (path === '-') return text(stdin);
    try {
      return await readFile(path, 'utf8');
    } catch (error) {
      throw new UsageError(`cannot read ${path}: ${(error as Error).message}`);
    }
  };
}

/** Runs `provisio ARGV`; answers the exit code. Output goes through `environment`, never process.stdout directly. */
export async function main(argv: readonly string[], environment: CliEnvironment): Promise<number> {
  const out: Output & { json: boolean } = { json: false, stdout: environment.stdout, stderr: environment.stderr };
  const located = locate(argv);
  const { group, unknown } = located;
  if (!group) {
    if (unknown === undefined && located.help) return say(environment.stdout, usage, exitCodes.ok);
    return say(environment.stderr, `provisio: ${unknown === undefined ? 'which command?' : `unknown command '${unknown}'`}\n\n${usage}`, exitCodes.usage);
  }
  if (!located.command) {
    if (unknown === undefined && located.help) return say(environment.stdout, groupHelp(group), exitCodes.ok);
    const problem = unknown === undefined ? 'which command?' : `unknown command '${unknown}'`;
    return say(environment.stderr, `provisio ${group.name}: ${problem}\n\n${groupHelp(group)}`, exitCodes.usage);
  }
  const command = located.command;
  try {
    const { values, positionals } = parseCommandLine(command, located.rest);
    if (values.help) {
      environment.stdout(commandHelp(group, command));
      return exitCodes.ok;
    }
    out.json = values.json === true;
    let client: ApiClient | undefined;
    const api = () => {
      client ??= new ApiClient(
        resolveConnection({ url: values.url, token: values.token, config: values.config, env: environment.env }, (message) =>
          environment.stderr(`provisio: ${message}\n`),
        ),
        environment.signal,
      );
      return client;
    };
    const context: CommandContext = { out, api, accounts: new AccountNames(api), signal: environment.signal, readFile: readInput(environment.stdin) };
    const code = await command.run(context, values, positionals);
    if (environment.signal.aborted) return exitCodes.interrupted;
    return code ?? exitCodes.ok;
  } catch (error) {
    return failure(error, out, `${group.name}${group.command ? '' : ` ${command.name}`}`);
  }
}

function say(write: (text: string) => void, text: string, code: number): number {
  write(text);
  return code;
}

/** The exit code of an error, after saying what it was on stderr. */
function failure(error: unknown, out: Output, commandName: string): number {
  if (error instanceof UsageError) {
    out.stderr(`provisio ${commandName}: ${error.message}\n(provisio ${commandName} --help shows the options)\n`);
    return exitCodes.usage;
  }
  if (error instanceof RefusedError) {
    if (out.json) printJson(out, error.problem);
    printProblem(out, error.status, error.problem);
    return exitCodes.refused;
  }
  if (error instanceof UnreachableError) {
    out.stderr(`provisio: ${error.message}\n`);
    return exitCodes.unreachable;
  }
  if (error instanceof InterruptedError) return exitCodes.interrupted;
  out.stderr(`provisio: internal error: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
  return exitCodes.internal;
}
