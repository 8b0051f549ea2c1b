import { accessSync, constants, mkdirSync } from 'node:fs';
import { PlatformError } from '../errors/platform-error.ts';

/** Creates the data directory (0700) and checks it can be written, before anything is stored there. */
export function prepareDataDir(dataDir: string): void {
  try {
    mkdirSync(dataDir, { recursive: true, mode: 0o700 });
    accessSync(dataDir, constants.W_OK | constants.R_OK);
  } catch (error) {
    throw new PlatformError('DATA_DIR_UNUSABLE', {
      detail: `${dataDir}: ${(error as NodeJS.ErrnoException).code ?? 'not writable'}`,
      cause: error,
    });
  }
}
