import { defineScript } from './script-runner.ts';

/** Scripts for accounts, bundles, certificates, the audit log, settings and broker heartbeats. */

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
 * Refused while requests, configurations, bundles, enrollment groups or provisioning codes belong
 * to the account. Its categories go with it (they are its own settings): the caller names each,
 * RETRY when they are no longer all.
 * KEYS: account, accountName, accounts, accountRequests, accountConfigurations, accountBundles,
 *       accountEnrollmentGroups, accountProvisioningCodes, accountCategories, then per category:
 *       category, categoryName
 * ARGV: id, expectedVersion (RETRY if renamed since the caller read it), then per category:
 *       accountCategoriesMember, categoryId
 */
export const deleteAccountScript = defineScript(
  'delete_account',
  'variable',
  `
local current = redis.call('GET', KEYS[1])
if not current then return {'NOT_FOUND', 'accountNotFound'} end
if version_of(current) ~= tonumber(ARGV[2]) then return {'RETRY'} end
if redis.call('ZCARD', KEYS[4]) > 0 then return {'DUPLICATE', 'accountHasRequests'} end
if redis.call('ZCARD', KEYS[5]) > 0 then return {'DUPLICATE', 'accountHasConfigurations'} end
if redis.call('ZCARD', KEYS[6]) > 0 then return {'DUPLICATE', 'accountHasBundles'} end
if redis.call('ZCARD', KEYS[7]) > 0 then return {'DUPLICATE', 'accountHasEnrollmentGroups'} end
if redis.call('ZCARD', KEYS[8]) > 0 then return {'DUPLICATE', 'accountHasProvisioningCodes'} end
local categories = (#KEYS - 9) / 2
if redis.call('ZCARD', KEYS[9]) ~= categories then return {'RETRY'} end
for i = 0, categories - 1 do
  if not redis.call('ZSCORE', KEYS[9], ARGV[3 + 2 * i]) then return {'RETRY'} end
end
for i = 0, categories - 1 do
  redis.call('DEL', KEYS[10 + 2 * i])
  delete_if_points_to(KEYS[11 + 2 * i], ARGV[4 + 2 * i])
end
redis.call('DEL', KEYS[9])
redis.call('DEL', KEYS[1])
delete_if_points_to(KEYS[2], ARGV[1])
redis.call('ZREM', KEYS[3], ARGV[1])
return {'OK'}
`,
);

/** A bundle (configurations and their versions: configuration-scripts.ts). KEYS: record, account, accountIndex. ARGV: id, json, createdOn */
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

/** KEYS: settings. ARGV: key, expected, value. Answers 1 when it replaced the value, 0 when it was not `expected`. */
export const replaceSettingScript = defineScript(
  'replace_setting',
  1,
  `
if redis.call('HGET', KEYS[1], ARGV[1]) ~= ARGV[2] then return {'OK', 0} end
redis.call('HSET', KEYS[1], ARGV[1], ARGV[3])
return {'OK', 1}
`,
);

/**
 * Compare-and-set on version of a record whose keys stay as they are (a category, an update job).
 * KEYS: record. ARGV: expectedVersion, json, notFoundRefusal
 */
export const updateVersionedRecordScript = defineScript(
  'update_versioned_record',
  1,
  `
local current = redis.call('GET', KEYS[1])
if not current then return {'NOT_FOUND', ARGV[3]} end
if version_of(current) ~= tonumber(ARGV[1]) then return {'VERSION_CONFLICT', 'staleVersion'} end
redis.call('SET', KEYS[1], ARGV[2])
return {'OK'}
`,
);

/** Moves a broker's heartbeat forward, never back (a late write from a slow process). KEYS: brokerHeartbeats. ARGV: brokerId, seenOn */
export const recordBrokerHeartbeatScript = defineScript(
  'record_broker_heartbeat',
  1,
  `
local stored = tonumber(redis.call('HGET', KEYS[1], ARGV[1]))
if stored == nil or stored < tonumber(ARGV[2]) then redis.call('HSET', KEYS[1], ARGV[1], ARGV[2]) end
return {'OK'}
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
  replaceSettingScript,
  updateVersionedRecordScript,
  recordBrokerHeartbeatScript,
];
