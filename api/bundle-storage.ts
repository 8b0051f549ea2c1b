import { createHash, randomUUID } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { mkdir, rename, rm, stat } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import type { Readable } from 'node:stream';
import { PlatformError } from '../errors/platform-error.ts';

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

/**
 * Bundle content, stored content-addressed under {dataDir}/bundles/{sha256}. Content is written
 * to a temporary file and renamed into place, so a reader never sees a partial file and two
 * uploads of the same content end as one file.
 */
export class BundleStorage {
  readonly directory: string;

  constructor(dataDir: string) {
    this.directory = resolve(dataDir, 'bundles');
  }

  static async open(dataDir: string): Promise<BundleStorage> {
    const storage = new BundleStorage(dataDir);
    await mkdir(storage.directory, { recursive: true });
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
    await mkdir(this.directory, { recursive: true });
    const temporary = join(this.directory, `.upload-${randomUUID()}`);
    let written: StoredContent;
    try {
      written = Buffer.isBuffer(source)
        ? await writeBuffer(source, temporary, options.maxBytes)
        : await writeStream(source, temporary, options.maxBytes);
      if (options.expectedSha256 !== undefined && options.expectedSha256.toLowerCase() !== written.sha256) {
        throw new PlatformError('BUNDLE_HASH_MISMATCH', { detail: `the content's sha256 is ${written.sha256}` });
      }
      await rename(temporary, this.pathOf(written.sha256));
    } catch (error) {
      await rm(temporary, { force: true });
      throw error;
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
  const file = createWriteStream(path, { flags: 'wx' });
  await new Promise<void>((resolvePromise, reject) => {
    file.on('error', reject);
    file.end(content, () => resolvePromise());
  });
  return { sha256: createHash('sha256').update(content).digest('hex'), size: content.length };
}

/**
 * Copies `source` to `path`, hashing and counting. Over `maxBytes` it stops reading without
 * destroying the source, so an HTTP request can still be answered 413.
 */
function writeStream(source: Readable, path: string, maxBytes: number): Promise<StoredContent> {
  return new Promise((resolvePromise, reject) => {
    const hash = createHash('sha256');
    const file = createWriteStream(path, { flags: 'wx' });
    let size = 0;
    let settled = false;
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
      file.end(() => {
        if (settled) return;
        settled = true;
        resolvePromise({ sha256: hash.digest('hex'), size });
      });
    });
    file.once('error', fail);
  });
}
