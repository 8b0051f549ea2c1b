import { randomUUID } from 'node:crypto';
import { link, mkdir, rename, unlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { sha256Hex } from '../protocol/configuration-hash.ts';

/**
 * Files that every device of a fleet keeps with the same content (the root, the chain, the
 * signing certificate), stored once per fleet under their SHA-256 and
 * hard-linked into each device's directory. Each device still has every file of its flash; only
 * the disk holds one copy. Creating a file is what costs: ext4 allocates an inode, up to a
 * millisecond of kernel CPU on the benchmark machine, where a link costs a few microseconds.
 *
 * A device replaces a file by renaming a new one over it and never writes into one, so a shared
 * file never changes under another device.
 */
export class SharedFiles {
  private readonly stored = new Map<string, Promise<string>>();

  constructor(readonly directory: string) {}

  /**
   * Makes `target` a link to the stored copy of `content`. False when that is not possible here
   * (no hard links on this file system, say): the caller then writes the file itself.
   */
  async linkAs(target: string, content: string | Buffer, mode: number): Promise<boolean> {
    let source: string;
    try {
      source = await this.storedCopy(content, mode);
    } catch {
      return false;
    }
    try {
      await link(source, target);
      return true;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') return false;
    }
    // The file exists (a second provisioning): link beside it and rename over it, atomic like every write.
    const temporary = `${target}.tmp`;
    try {
      await unlink(temporary).catch(() => undefined);
      await link(source, temporary);
      await rename(temporary, target);
      return true;
    } catch {
      return false;
    }
  }

  private storedCopy(content: string | Buffer, mode: number): Promise<string> {
    const name = `${sha256Hex(content)}-${mode.toString(8)}`;
    let stored = this.stored.get(name);
    if (!stored) {
      stored = this.store(name, content, mode);
      this.stored.set(name, stored);
      stored.catch(() => this.stored.delete(name));
    }
    return stored;
  }

  private async store(name: string, content: string | Buffer, mode: number): Promise<string> {
    await mkdir(this.directory, { recursive: true, mode: 0o700 });
    const path = join(this.directory, name);
    const temporary = `${path}.${randomUUID()}.tmp`;
    await writeFile(temporary, content, { mode });
    await rename(temporary, path);
    return path;
  }
}
