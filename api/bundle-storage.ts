import { createHash, randomUUID } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { mkdir, rename, rm, stat } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import type { Readable } from 'node:stream';
import { describeErrno, errnoOf } from '../errors/file-system-cause.ts';
import { PlatformError, storageUnavailable } from '../errors/platform-error.ts';

export interface StoredContent {
  /** Lower-case hex sha256 of the content: also its file name. */
  readonly sha256: string;
  readonly size: number;
}

export interface PutOptions {
  readonly maxBytes: number;
  /** Hex sha256 the uploader claims; a mismatch is BUNDLE_HASH_MISMATCH and nothing is kept. */
  readonly expectedSha256?: string;
}

const sha256Pattern = /^[0-9a-f]{64}$/;
const directoryMode = 0o700;
/** Bundle files: read and written by the platform's user only. */
const fileMode = 0o600;

/**
 * Bundle content, stored content-addressed under {dataDir}/bundles/{sha256}. Content is written
 * to a temporary file and renamed into place, so a reader never sees a partial file and two
 * uploads of the same content end as one file. The directory is 0700, every file 0600. A full
 * disk, a quota or a read-only file system is STORE_UNAVAILABLE naming the cause (503, as the
 * store answers), and the partial file is removed.
 */
export class BundleStorage {
  readonly directory: string;

  constructor(dataDir: string) {
    this.directory = resolve(dataDir, 'bundles');
  }

  static async open(dataDir: string): Promise<BundleStorage> {
    const storage = new BundleStorage(dataDir);
    try {
      await mkdir(storage.directory, { recursive: true, mode: directoryMode });
    } catch (error) {
      const code = errnoOf(error);
      throw new PlatformError('DATA_DIR_UNUSABLE', { detail: `cannot create ${storage.directory}: ${code ? describeErrno(code) : 'error'}`, cause: error });
    }
    return storage;
  }

  /** Absolute path of the content with this sha256. */
  pathOf(sha256: string): string {
    if (!sha256Pattern.test(sha256)) throw new PlatformError('NOT_FOUND', { detail: 'no such bundle content' });
    return join(this.directory, sha256);
  }

  async has(sha256: string): Promise<boolean> {
    try {
      return (await stat(this.pathOf(sha256))).isFile();
    } catch {
      return false;
    }
  }

  async put(source: Readable | Buffer, options: PutOptions): Promise<StoredContent> {
    const temporary = join(this.directory, `.upload-${randomUUID()}`);
    let written: StoredContent;
    try {
      await mkdir(this.directory, { recursive: true, mode: directoryMode });
      written = Buffer.isBuffer(source) ? await writeBuffer(source, temporary, options.maxBytes) : await writeStream(source, temporary, options.maxBytes);
      if (options.expectedSha256 !== undefined && options.expectedSha256.toLowerCase() !== written.sha256) {
        throw new PlatformError('BUNDLE_HASH_MISMATCH', { detail: `the content's sha256 is ${written.sha256}` });
      }
      await rename(temporary, this.pathOf(written.sha256));
    } catch (error) {
      await rm(temporary, { force: true });
      throw storageUnavailable(error, 'cannot store the bundle') ?? error;
    }
    return written;
  }

  async remove(sha256: string): Promise<void> {
    await rm(this.pathOf(sha256), { force: true });
  }
}

function tooLarge(maxBytes: number): PlatformError {
  return new PlatformError('PAYLOAD_TOO_LARGE', { detail: `a bundle may have at most ${maxBytes} bytes` });
}

async function writeBuffer(content: Buffer, path: string, maxBytes: number): Promise<StoredContent> {
  if (content.length > maxBytes) throw tooLarge(maxBytes);
  const file = createWriteStream(path, { flags: 'wx', mode: fileMode });
  await new Promise<void>((resolvePromise, reject) => {
    file.on('error', reject);
    file.end(content, () => resolvePromise());
  });
  return { sha256: createHash('sha256').update(content).digest('hex'), size: content.length };
}

/**
 * Copies `source` to `path`, hashing and counting. Over `maxBytes` it stops reading without
 * destroying the source, so an HTTP request can still be answered 413. When the file cannot be
 * written (a full disk), the rest of the upload (at most `maxBytes` in all) is read and dropped
 * before rejecting: a client still sending a body nobody reads sees a reset, not the answer.
 */
function writeStream(source: Readable, path: string, maxBytes: number): Promise<StoredContent> {
  return new Promise((resolvePromise, reject) => {
    const hash = createHash('sha256');
    const file = createWriteStream(path, { flags: 'wx', mode: fileMode });
    let size = 0;
    let settled = false;
    let fileError: unknown;
    const fail = (error: unknown): void => {
      if (settled) return;
      settled = true;
      source.off('data', onData);
      source.pause();
      // Reject once the file is closed, so the caller's clean-up finds it.
      if (file.closed) reject(error);
      else {
        file.once('close', () => reject(error));
        file.destroy();
      }
    };
    const onData = (chunk: Buffer): void => {
      size += chunk.length;
      if (size > maxBytes) return fail(tooLarge(maxBytes));
      if (fileError !== undefined) return;
      hash.update(chunk);
      if (!file.write(chunk)) {
        source.pause();
        file.once('drain', () => source.resume());
      }
    };
    source.on('data', onData);
    source.once('error', fail);
    source.once('close', () => {
      if (!source.readableEnded) fail(new PlatformError('VALIDATION_FAILED', { detail: 'the upload was interrupted' }));
    });
    source.once('end', () => {
      if (fileError !== undefined) return fail(fileError);
      file.end(() => {
        if (settled) return;
        settled = true;
        resolvePromise({ sha256: hash.digest('hex'), size });
      });
    });
    file.once('error', (error) => {
      if (settled) return;
      if (source.readableEnded) return fail(error);
      fileError = error;
      source.resume();
    });
  });
}
