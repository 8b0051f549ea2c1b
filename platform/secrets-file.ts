/**
 * The platform secrets file: the secret that derives the keys of devices without a CSR and the
 * one that signs bundle download links, each with the earlier values a rotation keeps
 * (docs/OPERATIONS.md). JSON, mode 0600, written atomically (fsync, rename); sealed with the CA
 * key passphrase when there is one (secret-envelope.ts).
 *
 *   { "format": "provisio-secrets/1",
 *     "deviceKey":   { "current": "<base64url>", "previous": [{ "value": "<base64url>", "retiredOn": "<ISO time>" }] },
 *     "bundleToken": { "current": "<base64url>", "previous": [] } }
 *
 * or, sealed: { "format": "provisio-secrets/1", "sealed": { …envelope of the two members above… } }
 */
import { randomBytes } from 'node:crypto';
import { open, readFile, rename, rm } from 'node:fs/promises';
import path from 'node:path';
import { passphraseSettings } from '../certs/ca-files.ts';
import { PlatformError } from '../errors/platform-error.ts';
import { isSealedEnvelope, openWithPassphrase, sealWithPassphrase } from './secret-envelope.ts';

export const secretsFormat = 'provisio-secrets/1';

/** The secrets the file holds, by name. */
export const secretNames = ['deviceKey', 'bundleToken'] as const;
export type SecretName = (typeof secretNames)[number];

export interface RetiredSecret {
  readonly value: Buffer;
  /** Epoch ms of the rotation that retired it. */
  readonly retiredOn: number;
}

/** One secret: the value in use, and the earlier ones still accepted (newest first). */
export interface SecretRing {
  readonly current: Buffer;
  readonly previous: readonly RetiredSecret[];
}

export type SecretsDocument = Readonly<Record<SecretName, SecretRing>>;

export interface LoadedSecretsFile {
  readonly document: SecretsDocument;
  readonly sealed: boolean;
}

/** Secrets are at least 32 bytes (256 bits): HMAC-SHA256 keys. */
export const minimumSecretBytes = 32;

export function newSecret(): Buffer {
  return randomBytes(minimumSecretBytes);
}

function invalid(file: string, reason: string): PlatformError {
  return new PlatformError('SECRETS_INVALID', { detail: `${file}: ${reason}` });
}

function decodeSecret(value: unknown, file: string, where: string): Buffer {
  if (typeof value !== 'string' || !/^[A-Za-z0-9_-]+$/.test(value)) throw invalid(file, `${where} is not a base64url string`);
  const secret = Buffer.from(value, 'base64url');
  if (secret.length < minimumSecretBytes) throw invalid(file, `${where} is shorter than ${minimumSecretBytes} bytes`);
  return secret;
}

function decodeRing(value: unknown, file: string, name: SecretName): SecretRing {
  if (typeof value !== 'object' || value === null) throw invalid(file, `${name} is missing`);
  const ring = value as Record<string, unknown>;
  const previous = ring['previous'] ?? [];
  if (!Array.isArray(previous)) throw invalid(file, `${name}.previous is not a list`);
  return {
    current: decodeSecret(ring['current'], file, `${name}.current`),
    previous: previous.map((entry: unknown, index) => {
      const retired = (typeof entry === 'object' && entry !== null ? entry : {}) as Record<string, unknown>;
      const retiredOn = typeof retired['retiredOn'] === 'string' ? Date.parse(retired['retiredOn']) : NaN;
      if (Number.isNaN(retiredOn)) throw invalid(file, `${name}.previous[${index}].retiredOn is not a time`);
      return { value: decodeSecret(retired['value'], file, `${name}.previous[${index}].value`), retiredOn };
    }),
  };
}

function encodeDocument(document: SecretsDocument): Record<SecretName, unknown> {
  const encode = (ring: SecretRing) => ({
    current: ring.current.toString('base64url'),
    previous: ring.previous.map((retired) => ({ value: retired.value.toString('base64url'), retiredOn: new Date(retired.retiredOn).toISOString() })),
  });
  return { deviceKey: encode(document.deviceKey), bundleToken: encode(document.bundleToken) };
}

function decodeDocument(members: Record<string, unknown>, file: string): SecretsDocument {
  return { deviceKey: decodeRing(members['deviceKey'], file, 'deviceKey'), bundleToken: decodeRing(members['bundleToken'], file, 'bundleToken') };
}

function parseJson(text: string, file: string, what: string): Record<string, unknown> {
  try {
    const parsed: unknown = JSON.parse(text);
    if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) throw new Error('not an object');
    return parsed as Record<string, unknown>;
  } catch {
    throw invalid(file, `${what} is not a JSON object`);
  }
}

/** The file's secrets, or undefined when it does not exist. */
export async function readSecretsFile(file: string, passphrase: string | undefined): Promise<LoadedSecretsFile | undefined> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') return undefined;
    throw new PlatformError('SECRETS_INVALID', { detail: `${file} cannot be read (${code ?? 'error'})`, cause: error });
  }
  const outer = parseJson(text, file, 'the file');
  if (outer['format'] !== secretsFormat) throw invalid(file, `not a ${secretsFormat} file`);
  if (outer['sealed'] === undefined) return { document: decodeDocument(outer, file), sealed: false };
  if (!isSealedEnvelope(outer['sealed'])) throw invalid(file, 'the sealed part is malformed');
  if (passphrase === undefined) throw invalid(file, `it is encrypted and no passphrase was given (${passphraseSettings})`);
  let plaintext: Buffer;
  try {
    plaintext = await openWithPassphrase(outer['sealed'], passphrase, secretsFormat);
  } catch {
    throw invalid(file, `it cannot be decrypted with the passphrase given (${passphraseSettings}): wrong passphrase`);
  }
  return { document: decodeDocument(parseJson(plaintext.toString('utf8'), file, 'the sealed part'), file), sealed: true };
}

/** Writes the file atomically (mode 0600, flushed to disk before it replaces the old one). */
export async function writeSecretsFile(file: string, document: SecretsDocument, passphrase: string | undefined): Promise<void> {
  const members = encodeDocument(document);
  const content =
    passphrase === undefined
      ? { format: secretsFormat, ...members }
      : { format: secretsFormat, sealed: await sealWithPassphrase(Buffer.from(JSON.stringify(members), 'utf8'), passphrase, secretsFormat) };
  const temporary = `${file}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`;
  try {
    const handle = await open(temporary, 'wx', 0o600);
    try {
      await handle.writeFile(`${JSON.stringify(content, null, 2)}\n`);
      await handle.sync();
    } finally {
      await handle.close();
    }
    await rename(temporary, file);
  } catch (error) {
    await rm(temporary, { force: true }).catch(() => undefined);
    throw new PlatformError('DATA_DIR_UNUSABLE', {
      detail: `${path.dirname(file)}: ${(error as NodeJS.ErrnoException).code ?? 'cannot be written'}`,
      cause: error,
    });
  }
}

/** The value in use and the earlier ones, newest first: what derivation and verification take. */
export function keysOf(ring: SecretRing): { readonly current: Buffer; readonly previous: readonly Buffer[] } {
  return { current: ring.current, previous: ring.previous.map((retired) => retired.value) };
}
