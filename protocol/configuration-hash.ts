import { createHash } from 'node:crypto';

/** The configuration hash of docs/PROTOCOL.md: lower-case hex sha256 of the content's UTF-8 bytes. */
export function configurationHash(content: string | Buffer): string {
  return createHash('sha256').update(content).digest('hex');
}
