/**
 * Encryption of the secrets file with the CA key passphrase: a key from scrypt (N=2^15, r=8,
 * p=1, 16-byte salt; ~0.1 s and 32 MiB once per process start), AES-256-GCM with a 12-byte
 * nonce, the file's format name as associated data. A wrong passphrase fails the tag check.
 */
import { createCipheriv, createDecipheriv, randomBytes, scrypt, type ScryptOptions } from 'node:crypto';

export interface SealedEnvelope {
  readonly kdf: 'scrypt';
  readonly cost: number;
  readonly blockSize: number;
  readonly parallelization: number;
  readonly salt: string;
  readonly cipher: 'aes-256-gcm';
  readonly iv: string;
  readonly tag: string;
  readonly data: string;
}

const defaults = { cost: 2 ** 15, blockSize: 8, parallelization: 1 } as const;
/** Envelopes asking for more work than this are refused rather than run. */
const maxCost = 2 ** 20;

function deriveKey(passphrase: string, salt: Buffer, parameters: { cost: number; blockSize: number; parallelization: number }): Promise<Buffer> {
  const options: ScryptOptions = {
    N: parameters.cost,
    r: parameters.blockSize,
    p: parameters.parallelization,
    maxmem: 256 * parameters.cost * parameters.blockSize + 1024 * 1024,
  };
  return new Promise((resolve, reject) => scrypt(passphrase, salt, 32, options, (error, key) => (error ? reject(error) : resolve(key))));
}

export async function sealWithPassphrase(plaintext: Buffer, passphrase: string, associatedData: string): Promise<SealedEnvelope> {
  const salt = randomBytes(16);
  const iv = randomBytes(12);
  const key = await deriveKey(passphrase, salt, defaults);
  const cipher = createCipheriv('aes-256-gcm', key, iv);
  cipher.setAAD(Buffer.from(associatedData, 'utf8'));
  const data = Buffer.concat([cipher.update(plaintext), cipher.final()]);
  return {
    kdf: 'scrypt',
    ...defaults,
    salt: salt.toString('base64url'),
    cipher: 'aes-256-gcm',
    iv: iv.toString('base64url'),
    tag: cipher.getAuthTag().toString('base64url'),
    data: data.toString('base64url'),
  };
}

/** Whether a parsed JSON value has the shape of an envelope with parameters we are willing to run. */
export function isSealedEnvelope(value: unknown): value is SealedEnvelope {
  if (typeof value !== 'object' || value === null) return false;
  const envelope = value as Record<string, unknown>;
  const isInteger = (field: string, max: number) => Number.isInteger(envelope[field]) && (envelope[field] as number) >= 1 && (envelope[field] as number) <= max;
  return (
    envelope['kdf'] === 'scrypt' &&
    envelope['cipher'] === 'aes-256-gcm' &&
    isInteger('cost', maxCost) &&
    isInteger('blockSize', 32) &&
    isInteger('parallelization', 16) &&
    ['salt', 'iv', 'tag', 'data'].every((field) => typeof envelope[field] === 'string')
  );
}

/** The plaintext; throws when the passphrase is wrong or the envelope was altered. */
export async function openWithPassphrase(envelope: SealedEnvelope, passphrase: string, associatedData: string): Promise<Buffer> {
  const key = await deriveKey(passphrase, Buffer.from(envelope.salt, 'base64url'), envelope);
  const decipher = createDecipheriv('aes-256-gcm', key, Buffer.from(envelope.iv, 'base64url'), { authTagLength: 16 });
  decipher.setAAD(Buffer.from(associatedData, 'utf8'));
  decipher.setAuthTag(Buffer.from(envelope.tag, 'base64url'));
  return Buffer.concat([decipher.update(Buffer.from(envelope.data, 'base64url')), decipher.final()]);
}
