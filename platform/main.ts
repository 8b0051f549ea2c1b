import { loadConfig } from '../config/config.ts';
import { isPlatformError } from '../errors/platform-error.ts';
import { createLogger } from '../log/logger.ts';
import { adminTokenNotice } from './admin-token-file.ts';
import { startPlatform } from './platform.ts';

/** `npm start`: the all-in-one platform on embedded defaults. */
async function main(): Promise<void> {
  let config;
  try {
    config = loadConfig();
  } catch (error) {
    process.stderr.write(`provisio: ${(error as Error).message}\n`);
    process.exit(78); // EX_CONFIG
  }
  const log = createLogger(config.logLevel);
  let platform;
  let adminTokenFile: string | null = null;
  try {
    platform = await startPlatform(config, log);
    adminTokenFile = platform.generatedAdminTokenFile;
  } catch (error) {
    if (isPlatformError(error)) process.stderr.write(`provisio: ${error.message}\n`);
    else log.fatal({ err: error }, 'start-up failed');
    process.exit(1);
  }
  const lines = Object.entries(platform.endpoints).map(([name, where]) => `  ${name.padEnd(28)} ${where}`);
  process.stdout.write(`provisio is running (store: ${config.storeBackend}, data: ${config.dataDir})\n${lines.join('\n')}\n`);
  // The token itself never goes to stdout, where the JSON log goes: only the file's path does.
  if (adminTokenFile) process.stdout.write(adminTokenNotice(adminTokenFile));
  let stopping = false;
  const stop = (signal: string): void => {
    if (stopping) return;
    stopping = true;
    log.info({ signal }, 'stopping');
    platform.close().then(
      () => {
        log.info('stopped');
        process.exit(0);
      },
      (error: unknown) => {
        log.error({ err: error }, 'stopped with errors');
        process.exit(1);
      },
    );
  };
  process.on('SIGINT', () => stop('SIGINT'));
  process.on('SIGTERM', () => stop('SIGTERM'));
}

await main();
