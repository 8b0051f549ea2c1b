import { defineScript } from './script-runner.ts';

/**
 * Provision request scripts. The uniqueness rules live in two kinds of key:
 * request-of-client:{accountId}:{clientId} (one request per clientId in an account) and
 * enabled-request:{clientId} (one ENABLED request per clientId across accounts).
 * client-accounts:{clientId} gains the account of every request stored for the clientId.
 */

/**
 * KEYS: request, requestOfClient, enabledRequest, account, requests, accountRequests, clientAccounts
 * ARGV: id, json, createdOn, enabled ('1' | '0'), accountId
 */
export const createRequestScript = defineScript(
  'create_request',
  7,
  `
if redis.call('EXISTS', KEYS[4]) == 0 then return {'NOT_FOUND', 'accountNotFound'} end
if redis.call('EXISTS', KEYS[2]) == 1 then return {'DUPLICATE', 'clientIdTakenInAccount'} end
if ARGV[4] == '1' and redis.call('EXISTS', KEYS[3]) == 1 then return {'DUPLICATE', 'clientIdEnabledElsewhere'} end
redis.call('SET', KEYS[1], ARGV[2])
redis.call('SET', KEYS[2], ARGV[1])
if ARGV[4] == '1' then redis.call('SET', KEYS[3], ARGV[1]) end
redis.call('ZADD', KEYS[5], ARGV[3], ARGV[1])
redis.call('ZADD', KEYS[6], ARGV[3], ARGV[1])
redis.call('SADD', KEYS[7], ARGV[5])
return {'OK'}
`,
);

/**
 * Compare-and-set on version, moving the uniqueness keys when clientId or status change.
 * KEYS: request, oldRequestOfClient, newRequestOfClient, oldEnabledRequest, newEnabledRequest, newClientAccounts
 * ARGV: id, expectedVersion, json, wasEnabled, isEnabled, accountId
 */
export const updateRequestScript = defineScript(
  'update_request',
  6,
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
redis.call('SADD', KEYS[6], ARGV[6])
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
 *       newRequest, newRequestOfClient, newEnabledRequest, newAccount, requests, newAccountRequests, newClientAccounts
 * ARGV: oldId, oldVersion, newId, newJson, newCreatedOn, newEnabled, newAccountId
 */
export const replaceRequestScript = defineScript(
  'replace_request',
  11,
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
redis.call('SADD', KEYS[11], ARGV[7])
return {'OK'}
`,
);

export const requestScripts = [createRequestScript, updateRequestScript, deleteRequestScript, replaceRequestScript];

/**
 * createRequestScript for many requests in one call, in order, each with its audit event
 * (appended as appendAuditScript does), so a batch costs one round trip per chunk and a request
 * is never stored without its event. Each item is checked and refused on its own.
 * Called with the number of keys first (they vary with the chunk).
 * KEYS: requests, auditSequence, auditEvents, auditIds, then per item:
 *       request, requestOfClient, enabledRequest, account, accountRequests, clientAccounts
 * ARGV: per item: id, json, createdOn, enabled ('1' | '0'), auditJson ('' = no event), accountId
 * Answers one outcome per item: 'OK' or '{code}:{refusalName}'.
 */
export const createRequestsCommand = 'provisio_create_requests';
export const createRequestsLua = `
local outcomes = {}
local items = (#KEYS - 4) / 6
for i = 0, items - 1 do
  local k = 4 + i * 6
  local a = i * 6
  local id, enabled = ARGV[a + 1], ARGV[a + 4] == '1'
  local outcome = 'OK'
  if redis.call('EXISTS', KEYS[k + 4]) == 0 then outcome = 'NOT_FOUND:accountNotFound'
  elseif redis.call('EXISTS', KEYS[k + 2]) == 1 then outcome = 'DUPLICATE:clientIdTakenInAccount'
  elseif enabled and redis.call('EXISTS', KEYS[k + 3]) == 1 then outcome = 'DUPLICATE:clientIdEnabledElsewhere'
  else
    redis.call('SET', KEYS[k + 1], ARGV[a + 2])
    redis.call('SET', KEYS[k + 2], id)
    if enabled then redis.call('SET', KEYS[k + 3], id) end
    redis.call('ZADD', KEYS[1], ARGV[a + 3], id)
    redis.call('ZADD', KEYS[k + 5], ARGV[a + 3], id)
    redis.call('SADD', KEYS[k + 6], ARGV[a + 6])
    if ARGV[a + 5] ~= '' then
      local auditId = redis.call('INCR', KEYS[2])
      redis.call('HSET', KEYS[3], auditId, ARGV[a + 5])
      redis.call('ZADD', KEYS[4], auditId, auditId)
    end
  end
  outcomes[i + 1] = outcome
end
return outcomes
`;
