import type { Logger } from '../log/logger.ts';
import type { PlatformConfig } from '../config/schema.ts';
import { generateSecret, hashSecret } from '../crypto/secret-hash.ts';
import type { ProvisionStore } from '../store/types.ts';

/**
 * API tokens. The admin token is config.adminToken, or one generated at first start and kept
 * only as a hash (setting 'admin-token-hash'). Account tokens are `{id}.{secret}`, stored as
 * setting `api-token:{id}` → JSON { hash, accountId, description, createdOn }.
 */
export const adminTokenHashSetting = 'admin-token-hash';
export const apiTokenSettingPrefix = 'api-token:';

export interface ApiTokenRecord {
  readonly hash: string;
  readonly accountId: string;
  readonly description: string;
  readonly createdOn: number;
}

export interface CreatedApiToken {
  readonly id: string;
  readonly accountId: string;
  readonly description: string;
  readonly createdOn: number;
  /** The bearer token; exists only in this object, never stored. */
  readonly token: string;
}

/**
 * Makes sure an admin token exists. Returns the plain token exactly once, when this call
 * generated it (the caller prints it); null when config.adminToken is set or a token was
 * generated before (possibly by another process sharing the store).
 */
export async function initAdminToken(store: ProvisionStore, config: PlatformConfig, log: Logger): Promise<string | null> {
  if (config.adminToken !== undefined) {
    log.info('admin API token taken from the configuration');
    return null;
  }
  if ((await store.getSetting(adminTokenHashSetting)) !== null) return null;
  const token = generateSecret(40);
  const hash = await hashSecret(token, 'generated');
  const stored = await store.setSettingIfAbsent(adminTokenHashSetting, hash);
  if (stored !== hash) return null;
  log.info('generated the admin API token; the caller hands it to the operator once (never in a log)');
  return token;
}

export function parseAccountToken(token: string): { id: string; secret: string } | null {
  const match = /^([A-Za-z0-9]{8,64})\.([A-Za-z0-9]{16,128})$/.exec(token);
  return match ? { id: match[1]!, secret: match[2]! } : null;
}

export async function createAccountApiToken(
  store: ProvisionStore,
  input: { accountId: string; description: string },
  now = Date.now(),
): Promise<CreatedApiToken> {
  const id = generateSecret(16);
  const secret = generateSecret(32);
  const record: ApiTokenRecord = {
    hash: await hashSecret(secret, 'generated'),
    accountId: input.accountId,
    description: input.description,
    createdOn: now,
  };
  await store.setSettingIfAbsent(`${apiTokenSettingPrefix}${id}`, JSON.stringify(record));
  return { id, accountId: input.accountId, description: input.description, createdOn: now, token: `${id}.${secret}` };
}

export async function readApiTokenRecord(store: ProvisionStore, id: string): Promise<ApiTokenRecord | null> {
  const raw = await store.getSetting(`${apiTokenSettingPrefix}${id}`);
  if (raw === null) return null;
  try {
    const parsed = JSON.parse(raw) as Partial<ApiTokenRecord>;
    if (typeof parsed.hash !== 'string' || typeof parsed.accountId !== 'string') return null;
    return {
      hash: parsed.hash,
      accountId: parsed.accountId,
      description: typeof parsed.description === 'string' ? parsed.description : '',
      createdOn: typeof parsed.createdOn === 'number' ? parsed.createdOn : 0,
    };
  } catch {
    return null;
  }
}
