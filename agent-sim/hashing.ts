import { createHash } from 'node:crypto';

export function sha256Hex(content: string | Buffer): string {
  return createHash('sha256').update(content).digest('hex');
}

/** The configuration hash of docs/PROTOCOL.md: sha256 of the content's UTF-8 bytes. */
export function configurationHash(content: string): string {
  return sha256Hex(Buffer.from(content, 'utf8'));
}
