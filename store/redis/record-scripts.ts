import { defineScript } from './script-runner.ts';

/** Scripts for accounts, attachments, certificates, the audit log and settings. */

/** KEYS: account, accountName, accounts. ARGV: id, json, createdOn */
export const createAccountScript = defineScript(
  'create_account',
  3,
  `
if redis.call('EXISTS', KEYS[2]) == 1 then return {'DUPLICATE', 'accountNameTaken'} end
redis.call('SET', KEYS[1], ARGV[2])
redis.call('SET', KEYS[2], ARGV[1])
redis.call('ZADD', KEYS[3], ARGV[3], ARGV[1])
return {'OK'}
`,
);

/** KEYS: account, oldAccountName, newAccountName. ARGV: id, expectedVersion, json */
export const updateAccountScript = defineScript(
  'update_account',
  3,
  `
local current = redis.call('GET', KEYS[1])
if not current then return {'NOT_FOUND', 'accountNotFound'} end
if version_of(current) ~= tonumber(ARGV[2]) then return {'VERSION_CONFLICT', 'staleVersion'} end
if KEYS[2] ~= KEYS[3] then
  if redis.call('EXISTS', KEYS[3]) == 1 then return {'DUPLICATE', 'accountNameTaken'} end
  delete_if_points_to(KEYS[2], ARGV[1])
  redis.call('SET', KEYS[3], ARGV[1])
end
redis.call('SET', KEYS[1], ARGV[3])
return {'OK'}
`,
);

/**
 * Refused while requests, configurations or bundles belong to the account.
 * KEYS: account, accountName, accounts, accountRequests, accountConfigurations, accountBundles
 * ARGV: id, expectedVersion (RETRY if renamed since the caller read it)
 */
export const deleteAccountScript = defineScript(
  'delete_account',
  6,
  `
local current = redis.call('GET', KEYS[1])
if not current then return {'NOT_FOUND', 'accountNotFound'} end
if version_of(current) ~= tonumber(ARGV[2]) then return {'RETRY'} end
if redis.call('ZCARD', KEYS[4]) > 0 then return {'DUPLICATE', 'accountHasRequests'} end
if redis.call('ZCARD', KEYS[5]) > 0 then return {'DUPLICATE', 'accountHasConfigurations'} end
if redis.call('ZCARD', KEYS[6]) > 0 then return {'DUPLICATE', 'accountHasBundles'} end
redis.call('DEL', KEYS[1])
delete_if_points_to(KEYS[2], ARGV[1])
redis.call('ZREM', KEYS[3], ARGV[1])
return {'OK'}
`,
);

/** A configuration or bundle. KEYS: record, account, accountIndex. ARGV: id, json, createdOn */
export const createAttachmentScript = defineScript(
  'create_attachment',
  3,
  `
if redis.call('EXISTS', KEYS[2]) == 0 then return {'NOT_FOUND', 'accountNotFound'} end
redis.call('SET', KEYS[1], ARGV[2])
redis.call('ZADD', KEYS[3], ARGV[3], ARGV[1])
return {'OK'}
`,
);

/** KEYS: record, accountIndex. ARGV: id, notFoundRefusal */
export const deleteAttachmentScript = defineScript(
  'delete_attachment',
  2,
  `
if redis.call('DEL', KEYS[1]) == 0 then return {'NOT_FOUND', ARGV[2]} end
redis.call('ZREM', KEYS[2], ARGV[1])
return {'OK'}
`,
);

/**
 * KEYS: certificate, certificates, accountCertificates, clientCertificates, unsettledRenewals,
 * renewalRequest (untouched when ARGV[5] is '0').
 * ARGV: serial, json, createdOn, '1' when it renews a certificate (a pending renewal) else '0',
 * '1' when it answers a renewal request.id else '0'
 */
export const recordCertificateScript = defineScript(
  'record_certificate',
  6,
  `
if redis.call('EXISTS', KEYS[1]) == 1 then return {'DUPLICATE', 'serialTaken'} end
if ARGV[5] == '1' then
  if redis.call('SET', KEYS[6], ARGV[1], 'NX') == false then return {'DUPLICATE', 'renewalRequestAnswered'} end
end
redis.call('SET', KEYS[1], ARGV[2])
redis.call('ZADD', KEYS[2], ARGV[3], ARGV[1])
redis.call('ZADD', KEYS[3], ARGV[3], ARGV[1])
redis.call('SADD', KEYS[4], ARGV[1])
if ARGV[4] == '1' then redis.call('ZADD', KEYS[5], ARGV[3], ARGV[1]) end
return {'OK'}
`,
);

/**
 * Compare-and-set like revoke_certificate; the renewal leaves the unsettled index.
 * KEYS: certificate, unsettledRenewals. ARGV: serial, expectedJson, settledJson
 */
export const settleRenewalScript = defineScript(
  'settle_renewal',
  2,
  `
local current = redis.call('GET', KEYS[1])
if not current then return {'NOT_FOUND', 'certificateNotFound'} end
if current ~= ARGV[2] then return {'CHANGED', current} end
redis.call('SET', KEYS[1], ARGV[3])
redis.call('ZREM', KEYS[2], ARGV[1])
return {'OK'}
`,
);

/**
 * Compare-and-set on the whole record: CHANGED (with the stored record) if it is no longer
 * what the caller read, so a concurrent revocation keeps its first time and reason.
 * KEYS: certificate, revokedCertificates. ARGV: serial, expectedJson, revokedJson, revokedOn
 */
export const revokeCertificateScript = defineScript(
  'revoke_certificate',
  2,
  `
local current = redis.call('GET', KEYS[1])
if not current then return {'NOT_FOUND', 'certificateNotFound'} end
if current ~= ARGV[2] then return {'CHANGED', current} end
redis.call('SET', KEYS[1], ARGV[3])
redis.call('ZADD', KEYS[2], ARGV[4], ARGV[1])
return {'OK'}
`,
);

/** KEYS: auditSequence, auditEvents, auditIds. ARGV: json (without id). Answers the new id. */
export const appendAuditScript = defineScript(
  'append_audit',
  3,
  `
local id = redis.call('INCR', KEYS[1])
redis.call('HSET', KEYS[2], id, ARGV[1])
redis.call('ZADD', KEYS[3], id, id)
return {'OK', tostring(id)}
`,
);

/** KEYS: settings. ARGV: key, value. Answers the value now stored. */
export const setSettingIfAbsentScript = defineScript(
  'set_setting_if_absent',
  1,
  `
redis.call('HSETNX', KEYS[1], ARGV[1], ARGV[2])
return {'OK', redis.call('HGET', KEYS[1], ARGV[1])}
`,
);

export const recordScripts = [
  createAccountScript,
  updateAccountScript,
  deleteAccountScript,
  createAttachmentScript,
  deleteAttachmentScript,
  recordCertificateScript,
  revokeCertificateScript,
  settleRenewalScript,
  appendAuditScript,
  setSettingIfAbsentScript,
];
