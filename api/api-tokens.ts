import type { Logger } from '../log/logger.ts';
import type { PlatformConfig } from '../config/schema.ts';
import { generateSecret, hashSecret } from '../crypto/secret-hash.ts';
import type { ProvisionStore } from '../store/types.ts';
import { isTokenScope, type TokenScope } from './token-scopes.ts';

/**
 * API tokens. The admin token is config.adminToken, or one generated at first start and kept
 * only as a hash (setting 'admin-token-hash'). Other tokens are `{id}.{secret}`, each stored as
 * setting `api-token:{id}` → JSON ApiTokenRecord: the secret's hash, never the secret. Settings
 * rather than a store part of their own: an operator keeps tens of tokens, not millions, and
 * listSettings/replaceSetting are all listing, revoking and marking use need.
 */
export const adminTokenHashSetting = 'admin-token-hash';
export const apiTokenSettingPrefix = 'api-token:';

export interface ApiTokenRecord {
  readonly hash: string;
  /** The one account the token may act in; null: a global token, every account. */
  readonly accountId: string | null;
  readonly scope: TokenScope;
  readonly description: string;
  readonly createdOn: number;
  /** The actor that created it ('admin' or a token id); null for tokens made before it was kept. */
  readonly createdBy: string | null;
  readonly expiresOn: number | null;
  /** When it last authenticated a request, to within a minute (see ApiTokenAuthenticator). */
  readonly lastUsedOn: number | null;
  readonly revokedOn: number | null;
}

/** A stored token with its id, and the stored text it was read from (for compare-and-set). */
export interface StoredApiToken {
  readonly id: string;
  readonly record: ApiTokenRecord;
  readonly raw: string;
}

export interface NewApiToken {
  readonly accountId: string | null;
  readonly scope: TokenScope;
  readonly description: string;
  readonly expiresOn: number | null;
  readonly createdBy: string;
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

export function parseApiToken(token: string): { id: string; secret: string } | null {
  const match = /^([A-Za-z0-9]{8,64})\.([A-Za-z0-9]{16,128})$/.exec(token);
  return match ? { id: match[1]!, secret: match[2]! } : null;
}

/** Creates a token; answers its record and the bearer token, which exists only in this answer. */
export async function createApiToken(store: ProvisionStore, input: NewApiToken, now = Date.now()): Promise<{ token: string; stored: StoredApiToken }> {
  const id = generateSecret(16);
  const secret = generateSecret(32);
  const record: ApiTokenRecord = { hash: await hashSecret(secret, 'generated'), ...input, createdOn: now, lastUsedOn: null, revokedOn: null };
  const raw = JSON.stringify(record);
  await store.setSettingIfAbsent(`${apiTokenSettingPrefix}${id}`, raw);
  return { token: `${id}.${secret}`, stored: { id, record, raw } };
}

function numberOrNull(value: unknown): number | null {
  return typeof value === 'number' ? value : null;
}

/** Reads a stored record; records written before scopes existed were account tokens that could change their account: operator. */
function parseRecord(raw: string): ApiTokenRecord | null {
  try {
    const parsed = JSON.parse(raw) as Record<string, unknown>;
    if (typeof parsed['hash'] !== 'string') return null;
    const accountId = parsed['accountId'];
    if (typeof accountId !== 'string' && accountId !== null) return null;
    return {
      hash: parsed['hash'],
      accountId,
      scope: isTokenScope(parsed['scope']) ? parsed['scope'] : 'operator',
      description: typeof parsed['description'] === 'string' ? parsed['description'] : '',
      createdOn: numberOrNull(parsed['createdOn']) ?? 0,
      createdBy: typeof parsed['createdBy'] === 'string' ? parsed['createdBy'] : null,
      expiresOn: numberOrNull(parsed['expiresOn']),
      lastUsedOn: numberOrNull(parsed['lastUsedOn']),
      revokedOn: numberOrNull(parsed['revokedOn']),
    };
  } catch {
    return null;
  }
}

export async function readApiToken(store: ProvisionStore, id: string): Promise<StoredApiToken | null> {
  const raw = await store.getSetting(`${apiTokenSettingPrefix}${id}`);
  const record = raw === null ? null : parseRecord(raw);
  return record && raw !== null ? { id, record, raw } : null;
}

/** Every token, in id order; revoked and expired ones too (an operator sees what was). */
export async function listApiTokens(store: ProvisionStore): Promise<StoredApiToken[]> {
  const tokens: StoredApiToken[] = [];
  for (const { key, value } of await store.listSettings(apiTokenSettingPrefix)) {
    const record = parseRecord(value);
    if (record) tokens.push({ id: key.slice(apiTokenSettingPrefix.length), record, raw: value });
  }
  return tokens;
}

/** Whether the token may authenticate at `now`: not revoked, not expired. */
export function isApiTokenUsable(record: ApiTokenRecord, now: number): boolean {
  return record.revokedOn === null && (record.expiresOn === null || record.expiresOn > now);
}

/**
 * Changes a stored token with compare-and-set, reading again after a concurrent change, so
 * no change (a revocation, a last use) is lost to another made from a stale read. Answers the
 * record as stored, or null when there is no such token (or `change` answers null: nothing to do).
 */
async function changeApiToken(store: ProvisionStore, id: string, change: (record: ApiTokenRecord) => ApiTokenRecord | null): Promise<StoredApiToken | null> {
  for (;;) {
    const current = await readApiToken(store, id);
    if (!current) return null;
    const changed = change(current.record);
    if (!changed) return current;
    const raw = JSON.stringify(changed);
    if (await store.replaceSetting(`${apiTokenSettingPrefix}${id}`, current.raw, raw)) return { id, record: changed, raw };
  }
}

/** Revokes a token (revoking it again keeps the first time). */
export function revokeApiToken(store: ProvisionStore, id: string, now = Date.now()): Promise<StoredApiToken | null> {
  return changeApiToken(store, id, (record) => (record.revokedOn === null ? { ...record, revokedOn: now } : null));
}

/** Records a use, unless one at most `resolutionMs` ago is recorded; never undoes a revocation. */
export async function markApiTokenUsed(store: ProvisionStore, id: string, now: number, resolutionMs: number): Promise<void> {
  await changeApiToken(store, id, (record) => (record.lastUsedOn !== null && now - record.lastUsedOn < resolutionMs ? null : { ...record, lastUsedOn: now }));
}
