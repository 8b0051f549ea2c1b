/**
 * What the operator commands (`npm run ca`, `npm run secrets`) share: the exit codes of
 * sysexits.h for bad usage (64) and bad configuration (78), 1 for a failure, and one line on
 * stderr naming the command and the error code.
 */
import { loadConfig, type PlatformConfig } from '../config/config.ts';
import { isPlatformError } from '../errors/platform-error.ts';

/** Prints the usage (after the parser's message, if any) and exits 64 (EX_USAGE). */
export function exitWithUsage(usage: string, message?: string): never {
  process.stderr.write(message ? `${message}\n${usage}` : usage);
  process.exit(64);
}

/** Loads the configuration (exit 78 when invalid), runs the command, prints its output (exit 1 on failure). */
export async function runOperatorCommand(name: string, work: (config: PlatformConfig) => Promise<string>): Promise<void> {
  let config: PlatformConfig;
  try {
    config = loadConfig();
  } catch (error) {
    process.stderr.write(`provisio ${name}: ${(error as Error).message}\n`);
    process.exit(78); // EX_CONFIG
  }
  try {
    process.stdout.write(await work(config));
  } catch (error) {
    process.stderr.write(`provisio ${name}: ${isPlatformError(error) ? `${error.code}: ${error.message}` : (error as Error).message}\n`);
    process.exit(1);
  }
}
