import { createHash } from 'node:crypto';

/**
 * Lower-case hex SHA-256 of the bytes (of a string: its UTF-8 bytes), as the protocol's `sha256`
 * fields carry it (docs/PROTOCOL.md: a bundle's sha256, the configuration hash).
 */
export function sha256Hex(content: string | Buffer): string {
  return createHash('sha256').update(content).digest('hex');
}

/** The configuration hash of docs/PROTOCOL.md: lower-case hex sha256 of the content's UTF-8 bytes. */
export function configurationHash(content: string | Buffer): string {
  return sha256Hex(content);
}
