import { defineScript } from './script-runner.ts';

/**
 * Provision request scripts. The uniqueness rules live in two kinds of key:
 * request-of-client:{accountId}:{clientId} (one request per clientId in an account) and
 * enabled-request:{clientId} (one ENABLED request per clientId across accounts).
 */

/**
 * KEYS: request, requestOfClient, enabledRequest, account, requests, accountRequests
 * ARGV: id, json, createdOn, enabled ('1' | '0')
 */
export const createRequestScript = defineScript(
  'create_request',
  6,
  `
if redis.call('EXISTS', KEYS[4]) == 0 then return {'NOT_FOUND', 'accountNotFound'} end
if redis.call('EXISTS', KEYS[2]) == 1 then return {'DUPLICATE', 'clientIdTakenInAccount'} end
if ARGV[4] == '1' and redis.call('EXISTS', KEYS[3]) == 1 then return {'DUPLICATE', 'clientIdEnabledElsewhere'} end
redis.call('SET', KEYS[1], ARGV[2])
redis.call('SET', KEYS[2], ARGV[1])
if ARGV[4] == '1' then redis.call('SET', KEYS[3], ARGV[1]) end
redis.call('ZADD', KEYS[5], ARGV[3], ARGV[1])
redis.call('ZADD', KEYS[6], ARGV[3], ARGV[1])
return {'OK'}
`,
);

/**
 * Compare-and-set on version, moving the uniqueness keys when clientId or status change.
 * KEYS: request, oldRequestOfClient, newRequestOfClient, oldEnabledRequest, newEnabledRequest
 * ARGV: id, expectedVersion, json, wasEnabled, isEnabled
 */
export const updateRequestScript = defineScript(
  'update_request',
  5,
  `
local current = redis.call('GET', KEYS[1])
if not current then return {'NOT_FOUND', 'requestNotFound'} end
if version_of(current) ~= tonumber(ARGV[2]) then return {'VERSION_CONFLICT', 'staleVersion'} end
local holder = redis.call('GET', KEYS[3])
if holder and holder ~= ARGV[1] then return {'DUPLICATE', 'clientIdTakenInAccount'} end
if ARGV[5] == '1' then
  local enabled = redis.call('GET', KEYS[5])
  if enabled and enabled ~= ARGV[1] then return {'DUPLICATE', 'clientIdEnabledElsewhere'} end
end
delete_if_points_to(KEYS[2], ARGV[1])
redis.call('SET', KEYS[3], ARGV[1])
if ARGV[4] == '1' then delete_if_points_to(KEYS[4], ARGV[1]) end
if ARGV[5] == '1' then redis.call('SET', KEYS[5], ARGV[1]) end
redis.call('SET', KEYS[1], ARGV[3])
return {'OK'}
`,
);

/**
 * KEYS: request, requestOfClient, enabledRequest, requests, accountRequests
 * ARGV: id, expectedVersion (RETRY if the request changed since the caller read it)
 */
export const deleteRequestScript = defineScript(
  'delete_request',
  5,
  `
local current = redis.call('GET', KEYS[1])
if not current then return {'NOT_FOUND', 'requestNotFound'} end
if version_of(current) ~= tonumber(ARGV[2]) then return {'RETRY'} end
redis.call('DEL', KEYS[1])
delete_if_points_to(KEYS[2], ARGV[1])
delete_if_points_to(KEYS[3], ARGV[1])
redis.call('ZREM', KEYS[4], ARGV[1])
redis.call('ZREM', KEYS[5], ARGV[1])
return {'OK'}
`,
);

/**
 * Deletes the old request and inserts the new one; all checks happen before any write, so a
 * refused replacement leaves the old request in place.
 * KEYS: oldRequest, oldRequestOfClient, oldEnabledRequest, oldAccountRequests,
 *       newRequest, newRequestOfClient, newEnabledRequest, newAccount, requests, newAccountRequests
 * ARGV: oldId, oldVersion, newId, newJson, newCreatedOn, newEnabled
 */
export const replaceRequestScript = defineScript(
  'replace_request',
  10,
  `
local current = redis.call('GET', KEYS[1])
if not current then return {'NOT_FOUND', 'requestNotFound'} end
if version_of(current) ~= tonumber(ARGV[2]) then return {'RETRY'} end
if redis.call('EXISTS', KEYS[8]) == 0 then return {'NOT_FOUND', 'accountNotFound'} end
local holder = redis.call('GET', KEYS[6])
if holder and holder ~= ARGV[1] then return {'DUPLICATE', 'clientIdTakenInAccount'} end
if ARGV[6] == '1' then
  local enabled = redis.call('GET', KEYS[7])
  if enabled and enabled ~= ARGV[1] then return {'DUPLICATE', 'clientIdEnabledElsewhere'} end
end
redis.call('DEL', KEYS[1])
delete_if_points_to(KEYS[2], ARGV[1])
delete_if_points_to(KEYS[3], ARGV[1])
redis.call('ZREM', KEYS[9], ARGV[1])
redis.call('ZREM', KEYS[4], ARGV[1])
redis.call('SET', KEYS[5], ARGV[4])
redis.call('SET', KEYS[6], ARGV[3])
if ARGV[6] == '1' then redis.call('SET', KEYS[7], ARGV[3]) end
redis.call('ZADD', KEYS[9], ARGV[5], ARGV[3])
redis.call('ZADD', KEYS[10], ARGV[5], ARGV[3])
return {'OK'}
`,
);

export const requestScripts = [createRequestScript, updateRequestScript, deleteRequestScript, replaceRequestScript];
