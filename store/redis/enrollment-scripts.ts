import { defineScript } from './script-runner.ts';

/**
 * Scripts of zero-touch onboarding (issue 18): manufacturer CAs and their blocked factory
 * certificates, enrollment groups. Unique names and fingerprints are string keys pointing at the
 * record's id (as account and category names); the sorted sets of a CA's and an account's groups
 * are what keeps the CA and the account from being deleted. Records are written as the caller
 * built them (never re-encoded here: cjson would turn an empty list into an object).
 * Provisioning codes and device assignments: provisioning-code-scripts.ts.
 */

/** KEYS: manufacturerCa, manufacturerCaName, manufacturerCaFingerprint, manufacturerCas. ARGV: id, json, createdOn */
export const createManufacturerCaScript = defineScript(
  'create_manufacturer_ca',
  4,
  `
if redis.call('EXISTS', KEYS[2]) == 1 then return {'DUPLICATE', 'manufacturerCaNameTaken'} end
if redis.call('EXISTS', KEYS[3]) == 1 then return {'DUPLICATE', 'manufacturerCaFingerprintTaken'} end
redis.call('SET', KEYS[1], ARGV[2])
redis.call('SET', KEYS[2], ARGV[1])
redis.call('SET', KEYS[3], ARGV[1])
redis.call('ZADD', KEYS[4], ARGV[3], ARGV[1])
return {'OK'}
`,
);

/**
 * Compare-and-set on version of a record with a unique name (a manufacturer CA, an enrollment
 * group), moving the name key when the name changes.
 * KEYS: record, oldNameKey, newNameKey. ARGV: id, expectedVersion, json, notFoundRefusal, nameTakenRefusal
 */
export const updateNamedRecordScript = defineScript(
  'update_named_record',
  3,
  `
local current = redis.call('GET', KEYS[1])
if not current then return {'NOT_FOUND', ARGV[4]} end
if version_of(current) ~= tonumber(ARGV[2]) then return {'VERSION_CONFLICT', 'staleVersion'} end
if KEYS[2] ~= KEYS[3] then
  if redis.call('EXISTS', KEYS[3]) == 1 then return {'DUPLICATE', ARGV[5]} end
  delete_if_points_to(KEYS[2], ARGV[1])
  redis.call('SET', KEYS[3], ARGV[1])
end
redis.call('SET', KEYS[1], ARGV[3])
return {'OK'}
`,
);

/**
 * Refused while a group is on the CA; its blocks go with it.
 * KEYS: manufacturerCa, manufacturerCaName, manufacturerCaFingerprint, manufacturerCas,
 *       manufacturerCaEnrollmentGroups, factoryCertificateBlocks, factoryCertificateBlockTimes
 * ARGV: id, expectedVersion (RETRY if renamed since the caller read it)
 */
export const deleteManufacturerCaScript = defineScript(
  'delete_manufacturer_ca',
  7,
  `
local current = redis.call('GET', KEYS[1])
if not current then return {'NOT_FOUND', 'manufacturerCaNotFound'} end
if version_of(current) ~= tonumber(ARGV[2]) then return {'RETRY'} end
if redis.call('ZCARD', KEYS[5]) > 0 then return {'DUPLICATE', 'manufacturerCaInUse'} end
redis.call('DEL', KEYS[1], KEYS[6], KEYS[7])
delete_if_points_to(KEYS[2], ARGV[1])
delete_if_points_to(KEYS[3], ARGV[1])
redis.call('ZREM', KEYS[4], ARGV[1])
return {'OK'}
`,
);

/** KEYS: manufacturerCa, factoryCertificateBlocks, factoryCertificateBlockTimes. ARGV: serial, json, blockedOn */
export const blockFactoryCertificateScript = defineScript(
  'block_factory_certificate',
  3,
  `
if redis.call('EXISTS', KEYS[1]) == 0 then return {'NOT_FOUND', 'manufacturerCaNotFound'} end
if redis.call('HSETNX', KEYS[2], ARGV[1], ARGV[2]) == 0 then return {'DUPLICATE', 'factoryCertificateBlocked'} end
redis.call('ZADD', KEYS[3], ARGV[3], ARGV[1])
return {'OK'}
`,
);

/** KEYS: factoryCertificateBlocks, factoryCertificateBlockTimes. ARGV: serial */
export const unblockFactoryCertificateScript = defineScript(
  'unblock_factory_certificate',
  2,
  `
if redis.call('HDEL', KEYS[1], ARGV[1]) == 0 then return {'NOT_FOUND', 'factoryCertificateNotBlocked'} end
redis.call('ZREM', KEYS[2], ARGV[1])
return {'OK'}
`,
);

/**
 * KEYS: enrollmentGroup, enrollmentGroupName, account, manufacturerCa, enrollmentGroups,
 *       accountEnrollmentGroups, manufacturerCaEnrollmentGroups
 * ARGV: id, json, createdOn
 */
export const createEnrollmentGroupScript = defineScript(
  'create_enrollment_group',
  7,
  `
if redis.call('EXISTS', KEYS[3]) == 0 then return {'NOT_FOUND', 'accountNotFound'} end
if redis.call('EXISTS', KEYS[4]) == 0 then return {'NOT_FOUND', 'manufacturerCaNotFound'} end
if redis.call('EXISTS', KEYS[2]) == 1 then return {'DUPLICATE', 'enrollmentGroupNameTaken'} end
redis.call('SET', KEYS[1], ARGV[2])
redis.call('SET', KEYS[2], ARGV[1])
redis.call('ZADD', KEYS[5], ARGV[3], ARGV[1])
redis.call('ZADD', KEYS[6], ARGV[3], ARGV[1])
redis.call('ZADD', KEYS[7], ARGV[3], ARGV[1])
return {'OK'}
`,
);

/**
 * KEYS: enrollmentGroup, enrollmentGroupName, enrollmentGroups, accountEnrollmentGroups, manufacturerCaEnrollmentGroups
 * ARGV: id, expectedVersion (RETRY if renamed since the caller read it)
 */
export const deleteEnrollmentGroupScript = defineScript(
  'delete_enrollment_group',
  5,
  `
local current = redis.call('GET', KEYS[1])
if not current then return {'NOT_FOUND', 'enrollmentGroupNotFound'} end
if version_of(current) ~= tonumber(ARGV[2]) then return {'RETRY'} end
redis.call('DEL', KEYS[1])
delete_if_points_to(KEYS[2], ARGV[1])
redis.call('ZREM', KEYS[3], ARGV[1])
redis.call('ZREM', KEYS[4], ARGV[1])
redis.call('ZREM', KEYS[5], ARGV[1])
return {'OK'}
`,
);

export const enrollmentScripts = [
  createManufacturerCaScript,
  updateNamedRecordScript,
  deleteManufacturerCaScript,
  blockFactoryCertificateScript,
  unblockFactoryCertificateScript,
  createEnrollmentGroupScript,
  deleteEnrollmentGroupScript,
];
