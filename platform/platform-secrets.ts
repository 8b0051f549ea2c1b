/**
 * The secrets that derive device keys and sign bundle download links, kept out of the store:
 * in the secrets file (PROVISIO_SECRETS_FILE, default {dataDir}/secrets/platform-secrets.json),
 * which every process of a cluster reads from the shared data directory. The first process
 * creates it. A store written by an earlier version still holds them as settings: they move to
 * the file with the same values (so the repeats of attempts in flight derive the same keys and
 * unexpired links still open), then leave the store.
 */
import { chmod, mkdir } from 'node:fs/promises';
import path from 'node:path';
import { readKeyPassphrase } from '../certs/key-passphrase.ts';
import type { PlatformConfig } from '../config/config.ts';
import { PlatformError } from '../errors/platform-error.ts';
import type { Logger } from '../log/logger.ts';
import type { ProvisionStore } from '../store/types.ts';
import { withFileLock } from './file-lock.ts';
import {
  keysOf,
  newSecret,
  readSecretsFile,
  secretNames,
  writeSecretsFile,
  type LoadedSecretsFile,
  type SecretName,
  type SecretsDocument,
} from './secrets-file.ts';

/** Store settings where versions before issue 12 kept the secrets, in clear. */
export const legacySecretSettings: Readonly<Record<SecretName, string>> = {
  deviceKey: 'device-key-secret',
  bundleToken: 'bundle-token-secret',
};

/** What the processes use: each secret's current value and the earlier ones still accepted. */
export interface PlatformSecrets {
  readonly file: string;
  readonly deviceKey: { readonly current: Buffer; readonly previous: readonly Buffer[] };
  readonly bundleToken: { readonly current: Buffer; readonly previous: readonly Buffer[] };
}

export const defaultSecretsDirectory = 'secrets';
export const defaultSecretsFileName = 'platform-secrets.json';

export function secretsFileOf(config: Pick<PlatformConfig, 'dataDir' | 'secretsFile'>): string {
  return path.resolve(config.secretsFile ?? path.join(config.dataDir, defaultSecretsDirectory, defaultSecretsFileName));
}

/** The file's directory: created 0700 if missing; the default one is tightened to 0700 every time. */
async function prepareDirectory(config: Pick<PlatformConfig, 'secretsFile'>, file: string): Promise<void> {
  const directory = path.dirname(file);
  try {
    await mkdir(directory, { recursive: true, mode: 0o700 });
    if (config.secretsFile === undefined) await chmod(directory, 0o700);
  } catch (error) {
    throw new PlatformError('DATA_DIR_UNUSABLE', { detail: `${directory}: ${(error as NodeJS.ErrnoException).code ?? 'cannot be written'}`, cause: error });
  }
}

/**
 * Changes the file under its lock: `change` gets what is there now (undefined when there is no
 * file yet) and answers the new document, or null to leave the file as it is (it is still
 * rewritten when it must be sealed with a passphrase given since). Answers the document in force.
 */
export async function updateSecretsFile(
  file: string,
  passphrase: string | undefined,
  log: Logger,
  change: (current: SecretsDocument | undefined) => SecretsDocument | null,
): Promise<SecretsDocument> {
  return withFileLock(`${file}.lock`, log, async () => {
    const loaded = await readSecretsFile(file, passphrase);
    const changed = change(loaded?.document);
    const document = changed ?? loaded?.document;
    if (document === undefined) throw new Error('updateSecretsFile: nothing to write');
    const seal = passphrase !== undefined && loaded !== undefined && !loaded.sealed;
    if (changed !== null || seal) {
      await writeSecretsFile(file, document, passphrase);
      if (seal && changed === null) log.info({ file }, 'encrypted the secrets file with the passphrase');
    }
    return document;
  });
}

type LegacySecrets = Partial<Record<SecretName, Buffer>>;

async function readLegacySecrets(store: ProvisionStore): Promise<LegacySecrets> {
  const legacy: LegacySecrets = {};
  for (const name of secretNames) {
    const value = await store.getSetting(legacySecretSettings[name]);
    if (value !== null) legacy[name] = Buffer.from(value, 'base64url');
  }
  return legacy;
}

function knows(document: SecretsDocument, name: SecretName, value: Buffer): boolean {
  const ring = document[name];
  return ring.current.equals(value) || ring.previous.some((retired) => retired.value.equals(value));
}

/** The document with every legacy secret in it: as current for a new file, else kept as a previous value. */
function withLegacySecrets(document: SecretsDocument | undefined, legacy: LegacySecrets, file: string, log: Logger): SecretsDocument | null {
  if (document === undefined) {
    const fresh = (name: SecretName) => ({ current: legacy[name] ?? newSecret(), previous: [] });
    return { deviceKey: fresh('deviceKey'), bundleToken: fresh('bundleToken') };
  }
  const unknown = secretNames.filter((name) => legacy[name] !== undefined && !knows(document, name, legacy[name] as Buffer));
  if (unknown.length === 0) return null;
  const next = { ...document };
  for (const name of unknown) {
    // A process of the earlier version made it after the file existed: keep accepting what it made.
    next[name] = { current: document[name].current, previous: [{ value: legacy[name] as Buffer, retiredOn: Date.now() }, ...document[name].previous] };
    log.warn({ file, secret: name }, 'the store held another value of this secret than the secrets file; kept as a previous value');
  }
  return next;
}

function needsUpdate(loaded: LoadedSecretsFile | undefined, legacy: LegacySecrets, passphrase: string | undefined): boolean {
  if (loaded === undefined) return true;
  if (passphrase !== undefined && !loaded.sealed) return true;
  return secretNames.some((name) => legacy[name] !== undefined && !knows(loaded.document, name, legacy[name] as Buffer));
}

/** Loads the secrets, creating the file on first start and moving secrets out of an earlier version's store. */
export async function openPlatformSecrets(config: PlatformConfig, store: ProvisionStore, log: Logger): Promise<PlatformSecrets> {
  const file = secretsFileOf(config);
  const passphrase = readKeyPassphrase(config);
  const legacy = await readLegacySecrets(store);
  const loaded = await readSecretsFile(file, passphrase);
  let document = loaded?.document;
  if (needsUpdate(loaded, legacy, passphrase)) {
    await prepareDirectory(config, file);
    document = await updateSecretsFile(file, passphrase, log, (current) => withLegacySecrets(current, legacy, file, log));
    if (loaded === undefined) log.info({ file, sealed: passphrase !== undefined }, 'secrets file ready');
  }
  for (const name of secretNames) {
    if (legacy[name] === undefined) continue;
    await store.deleteSetting(legacySecretSettings[name]);
    log.warn(
      { file, secret: name },
      'moved a secret out of the store into the secrets file (backups of the store made before still hold it: docs/OPERATIONS.md)',
    );
  }
  const ready = document as SecretsDocument;
  return { file, deviceKey: keysOf(ready.deviceKey), bundleToken: keysOf(ready.bundleToken) };
}

/**
 * Rewrites the secrets file sealed with the passphrase configured now (none: unsealed), reading
 * it with the one it was sealed with: changing or removing the passphrase (docs/OPERATIONS.md).
 */
export async function resealSecretsFile(config: PlatformConfig, oldPassphrase: string | undefined, log: Logger): Promise<{ file: string; sealed: boolean }> {
  const file = secretsFileOf(config);
  const passphrase = readKeyPassphrase(config);
  await withFileLock(`${file}.lock`, log, async () => {
    const loaded = await readSecretsFile(file, oldPassphrase);
    if (!loaded) throw new PlatformError('SECRETS_INVALID', { detail: `${file} does not exist` });
    await writeSecretsFile(file, loaded.document, passphrase);
  });
  return { file, sealed: passphrase !== undefined };
}
