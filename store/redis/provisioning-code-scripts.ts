import { defineScript } from './script-runner.ts';

/**
 * Scripts of provisioning codes and device assignments (issue 18). provisioning-code-hash:{hash}
 * points at the PENDING code with that hash (unique, gone once the code is REGISTERED);
 * pending-provisioning-codes holds the PENDING ones by expiresOn for the sweep. A code's account
 * and hash never change (the hash only goes), so the keys a caller computes from its read stay right.
 */

/**
 * All or nothing: every hash is checked (against the stored ones and the batch's own) before
 * anything is written. Codes without a hash name an unused hash key and '0' for it.
 * KEYS: provisioningCodes, pendingProvisioningCodes, then per code: provisioningCode,
 *       provisioningCodeHash, account, accountProvisioningCodes
 * ARGV: per code: id, json, createdOn, expiresOn, '1' when it has a hash else '0'
 */
export const createProvisioningCodesScript = defineScript(
  'create_provisioning_codes',
  'variable',
  `
local count = (#KEYS - 2) / 4
local hashes = {}
for i = 0, count - 1 do
  if redis.call('EXISTS', KEYS[5 + 4 * i]) == 0 then return {'NOT_FOUND', 'accountNotFound'} end
  if ARGV[5 + 5 * i] == '1' then
    local hash_key = KEYS[4 + 4 * i]
    if hashes[hash_key] or redis.call('EXISTS', hash_key) == 1 then return {'DUPLICATE', 'provisioningCodeHashTaken'} end
    hashes[hash_key] = true
  end
end
for i = 0, count - 1 do
  local id = ARGV[1 + 5 * i]
  redis.call('SET', KEYS[3 + 4 * i], ARGV[2 + 5 * i])
  if ARGV[5 + 5 * i] == '1' then redis.call('SET', KEYS[4 + 4 * i], id) end
  redis.call('ZADD', KEYS[1], ARGV[3 + 5 * i], id)
  redis.call('ZADD', KEYS[6 + 4 * i], ARGV[3 + 5 * i], id)
  redis.call('ZADD', KEYS[2], ARGV[4 + 5 * i], id)
end
return {'OK'}
`,
);

/**
 * Compare-and-set of a PENDING code on its whole record (bind, or mark REGISTERED): RETRY when it
 * is no longer what the caller read. Registering removes its hash key and leaves the pending set.
 * KEYS: provisioningCode, provisioningCodeHash, pendingProvisioningCodes
 * ARGV: id, expectedJson, nextJson, '1' when registering else '0'
 */
export const replacePendingCodeScript = defineScript(
  'replace_pending_code',
  3,
  `
if redis.call('GET', KEYS[1]) ~= ARGV[2] then return {'RETRY'} end
redis.call('SET', KEYS[1], ARGV[3])
if ARGV[4] == '1' then
  delete_if_points_to(KEYS[2], ARGV[1])
  redis.call('ZREM', KEYS[3], ARGV[1])
end
return {'OK'}
`,
);

/**
 * KEYS: provisioningCode, provisioningCodeHash (an unused one when it has none), provisioningCodes,
 *       accountProvisioningCodes, pendingProvisioningCodes
 * ARGV: id
 */
export const deleteProvisioningCodeScript = defineScript(
  'delete_provisioning_code',
  5,
  `
if redis.call('DEL', KEYS[1]) == 0 then return {'NOT_FOUND', 'provisioningCodeNotFound'} end
delete_if_points_to(KEYS[2], ARGV[1])
redis.call('ZREM', KEYS[3], ARGV[1])
redis.call('ZREM', KEYS[4], ARGV[1])
redis.call('ZREM', KEYS[5], ARGV[1])
return {'OK'}
`,
);

/**
 * Deletes the given codes that are still PENDING with expiresOn <= now (one registered meanwhile
 * stays); a member whose record is gone or no longer PENDING leaves the pending set, so the
 * sweep's next read moves on. Answers how many were deleted.
 * KEYS: provisioningCodes, pendingProvisioningCodes, then per code: provisioningCode,
 *       provisioningCodeHash, accountProvisioningCodes
 * ARGV: now, then per code: id
 */
export const deleteExpiredProvisioningCodesScript = defineScript(
  'delete_expired_provisioning_codes',
  'variable',
  `
local now = tonumber(ARGV[1])
local deleted = 0
for i = 0, (#KEYS - 2) / 3 - 1 do
  local id = ARGV[2 + i]
  local json = redis.call('GET', KEYS[3 + 3 * i])
  if not json then
    redis.call('ZREM', KEYS[2], id)
  else
    local code = cjson.decode(json)
    if code.status == 'PENDING' and tonumber(code.expiresOn) <= now then
      redis.call('DEL', KEYS[3 + 3 * i])
      delete_if_points_to(KEYS[4 + 3 * i], id)
      redis.call('ZREM', KEYS[1], id)
      redis.call('ZREM', KEYS[2], id)
      redis.call('ZREM', KEYS[5 + 3 * i], id)
      deleted = deleted + 1
    elseif code.status ~= 'PENDING' then
      redis.call('ZREM', KEYS[2], id)
    end
  end
end
return {'OK', deleted}
`,
);

/** KEYS: deviceAssignment, deviceAssignments. ARGV: clientId */
export const deleteDeviceAssignmentScript = defineScript(
  'delete_device_assignment',
  2,
  `
if redis.call('DEL', KEYS[1]) == 0 then return {'NOT_FOUND', 'deviceAssignmentNotFound'} end
redis.call('ZREM', KEYS[2], ARGV[1])
return {'OK'}
`,
);

export const provisioningCodeScripts = [
  createProvisioningCodesScript,
  replacePendingCodeScript,
  deleteProvisioningCodeScript,
  deleteExpiredProvisioningCodesScript,
  deleteDeviceAssignmentScript,
];
