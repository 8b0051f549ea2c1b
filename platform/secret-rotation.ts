/**
 * Rotating the platform secrets (docs/OPERATIONS.md). A rotation makes a new current value and
 * keeps the old one as "previous": a device repeating the request.id of an attempt answered
 * before the rotation still gets the key its certificate holds, and links handed out before
 * still open. Dropping the previous values ends that; for the device-key secret it is safe once
 * no attempt in progress needs them, which attemptsNeedingPreviousDeviceKeys tells.
 */
import { X509Certificate } from 'node:crypto';
import { readKeyPassphrase } from '../certs/key-passphrase.ts';
import type { PlatformConfig } from '../config/config.ts';
import type { Logger } from '../log/logger.ts';
import { deriveIssuedDeviceKey } from '../provisioner/device-key-derivation.ts';
import type { ProvisionStore } from '../store/types.ts';
import { openPlatformSecrets, updateSecretsFile } from './platform-secrets.ts';
import { newSecret, readSecretsFile, type LoadedSecretsFile, type SecretName, type SecretsDocument } from './secrets-file.ts';

/** The document with a new current value for `name`, the old one first among the previous. */
export function rotated(document: SecretsDocument, name: SecretName, now = Date.now()): SecretsDocument {
  const ring = document[name];
  return { ...document, [name]: { current: newSecret(), previous: [{ value: ring.current, retiredOn: now }, ...ring.previous] } };
}

/** The document without the previous values of `name`. */
export function withoutPrevious(document: SecretsDocument, name: SecretName): SecretsDocument {
  return { ...document, [name]: { current: document[name].current, previous: [] } };
}

export interface AttemptNeedingPreviousKey {
  readonly provisionRequestId: string;
  readonly clientId: string;
  readonly requestId: string;
  /** Index in the previous values (0 = the most recent). */
  readonly previousIndex: number;
}

/**
 * Attempts in progress whose repeat needs a previous device-key secret: ENABLED requests with a
 * valid certificate for their current request.id, whose key only a previous secret derives.
 * Completed requests are DISABLED and never repeated; CSR certificates match no secret.
 */
export async function attemptsNeedingPreviousDeviceKeys(store: ProvisionStore, document: SecretsDocument): Promise<AttemptNeedingPreviousKey[]> {
  const previous = document.deviceKey.previous.map((retired) => retired.value);
  const needing: AttemptNeedingPreviousKey[] = [];
  if (previous.length === 0) return needing;
  const limit = 1000;
  for (let offset = 0; ; offset += limit) {
    const page = await store.listProvisionRequests({ statuses: ['ENABLED'], offset, limit });
    for (const request of page.items) {
      if (request.certificateSerial === null || request.currentRequestId === null) continue;
      const certificate = await store.getCertificate(request.certificateSerial);
      if (!certificate || certificate.status !== 'VALID') continue;
      const spki = new X509Certificate(certificate.pem).publicKey.export({ type: 'spki', format: 'der' });
      if (deriveIssuedDeviceKey([document.deviceKey.current], request.id, request.currentRequestId, spki)) continue;
      const previousIndex = previous.findIndex((secret) => deriveIssuedDeviceKey([secret], request.id, request.currentRequestId as string, spki));
      if (previousIndex >= 0) needing.push({ provisionRequestId: request.id, clientId: request.clientId, requestId: request.currentRequestId, previousIndex });
    }
    if (offset + limit >= page.total) break;
  }
  return needing;
}

/** The secrets file as it is now (migrating an earlier version's store first, as a start would). */
export async function loadSecretsForCommand(config: PlatformConfig, store: ProvisionStore, log: Logger): Promise<LoadedSecretsFile & { file: string }> {
  const { file } = await openPlatformSecrets(config, store, log);
  const loaded = await readSecretsFile(file, readKeyPassphrase(config));
  if (!loaded) throw new Error(`${file} disappeared`);
  return { ...loaded, file };
}

/** Rotates one secret in the file; running processes take it at their next start. */
export async function rotatePlatformSecret(config: PlatformConfig, store: ProvisionStore, log: Logger, name: SecretName): Promise<SecretsDocument> {
  const { file } = await loadSecretsForCommand(config, store, log);
  return updateSecretsFile(file, readKeyPassphrase(config), log, (current) => rotated(current as SecretsDocument, name));
}

/**
 * Forgets the previous values of one secret. For the device-key secret, refused (with the
 * attempts named) while an attempt in progress needs one, unless forced: their repeats would be
 * answered 422 and cost a new attempt each.
 */
export async function dropPreviousPlatformSecrets(
  config: PlatformConfig,
  store: ProvisionStore,
  log: Logger,
  name: SecretName,
  force: boolean,
): Promise<{ dropped: number; needing: readonly AttemptNeedingPreviousKey[] }> {
  const loaded = await loadSecretsForCommand(config, store, log);
  const needing = name === 'deviceKey' ? await attemptsNeedingPreviousDeviceKeys(store, loaded.document) : [];
  if (needing.length > 0 && !force) return { dropped: 0, needing };
  await updateSecretsFile(loaded.file, readKeyPassphrase(config), log, (current) => withoutPrevious(current as SecretsDocument, name));
  return { dropped: loaded.document[name].previous.length, needing };
}
