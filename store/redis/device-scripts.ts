import { defineScript } from './script-runner.ts';

/**
 * Device record scripts. A device's record changes by read-modify-write inside the script, so
 * concurrent upserts of different fields (a birth, a disconnect, a completed provisioning)
 * each apply to what the previous one wrote and none is lost. The scripts keep the device's
 * indexes with it: id -> record, broker -> devices, category -> devices.
 */

/**
 * Encodes a flat record. cjson.encode writes numbers with 14 significant digits, which would
 * round large numbers; %.17g writes every double exactly (integers as integers). cjson decodes
 * [] to an empty table and would write it back as {}: a device record's tables are all lists
 * (tags, bundles), so an empty one is written as []. is_null and same treat an absent field (a
 * record stored before the field existed) as null.
 */
const flatRecordHelpers = `
local function encode_value(value)
  if type(value) == 'number' then return string.format('%.17g', value) end
  if type(value) == 'table' and next(value) == nil then return '[]' end
  return cjson.encode(value)
end
local function encode_flat(record)
  local parts = {}
  for field, value in pairs(record) do
    parts[#parts + 1] = cjson.encode(field) .. ':' .. encode_value(value)
  end
  return '{' .. table.concat(parts, ',') .. '}'
end
local function is_null(value) return value == nil or value == cjson.null end
local function same(a, b)
  if is_null(a) then return is_null(b) end
  return a == b
end
`;

/**
 * Applies the patch to the stored record, or to the empty record when there is none, stamps
 * modifiedOn and indexes the device. Answers the record now stored. A record stored before the
 * registry fields gets their empty values, and legacyId as its id (what reading it answered).
 * When the patch sets brokerId or category, the caller has read the record: ARGV[7] is '1',
 * ARGV[8] holds its brokerId and category as read (RETRY when they changed since), and the old
 * and new broker and category keys are theirs; otherwise those four keys are untouched.
 * KEYS: device, devices, accountDevices, newDeviceId, legacyDeviceId, oldBrokerDevices,
 *       newBrokerDevices, oldCategoryDevices, newCategoryDevices
 * ARGV: devicesMember, clientId, emptyJson, patchJson, now, legacyId, indexed ('1' | '0'), readJson,
 *       eventOn ('' or a time: answers {'OK', ''}, nothing written, when the stored record is offline with lastSeenOn >= it)
 */
export const upsertDeviceScript = defineScript(
  'upsert_device',
  9,
  `${flatRecordHelpers}
local current = redis.call('GET', KEYS[1])
local record
local id_key = nil
if current then
  record = cjson.decode(current)
  if is_null(record.id) then
    record.id = ARGV[6]
    id_key = KEYS[5]
  end
  for field, value in pairs(cjson.decode(ARGV[3])) do
    if record[field] == nil then record[field] = value end
  end
else
  record = cjson.decode(ARGV[3])
  id_key = KEYS[4]
end
if current and ARGV[9] ~= '' and record.online == false and not is_null(record.lastSeenOn) and record.lastSeenOn >= tonumber(ARGV[9]) then
  return {'OK', ''}
end
local indexed = ARGV[7] == '1'
local old_broker, old_category = record.brokerId, record.category
if indexed then
  local read = cjson.decode(ARGV[8])
  if not same(old_broker, read.brokerId) or not same(old_category, read.category) then return {'RETRY'} end
end
for field, value in pairs(cjson.decode(ARGV[4])) do record[field] = value end
record.modifiedOn = tonumber(ARGV[5])
local json = encode_flat(record)
redis.call('SET', KEYS[1], json)
redis.call('ZADD', KEYS[2], 0, ARGV[1])
redis.call('ZADD', KEYS[3], 0, ARGV[2])
if id_key then redis.call('SET', id_key, ARGV[1]) end
if indexed then
  if not is_null(old_broker) and not same(old_broker, record.brokerId) then redis.call('SREM', KEYS[6], ARGV[1]) end
  if not is_null(record.brokerId) then redis.call('SADD', KEYS[7], ARGV[1]) end
  if not is_null(old_category) and not same(old_category, record.category) then redis.call('ZREM', KEYS[8], ARGV[2]) end
  if not is_null(record.category) then redis.call('ZADD', KEYS[9], 0, ARGV[2]) end
end
return {'OK', json}
`,
);

/**
 * Deletes the record and its index entries; RETRY when its id, brokerId or category are no
 * longer those read (the keys were computed from them).
 * KEYS: device, devices, accountDevices, deviceId, brokerDevices, categoryDevices
 * ARGV: devicesMember, clientId, readJson ({id, brokerId, category} as stored)
 */
export const deleteDeviceScript = defineScript(
  'delete_device',
  6,
  `${flatRecordHelpers}
local current = redis.call('GET', KEYS[1])
if not current then return {'NOT_FOUND', 'deviceNotFound'} end
local record = cjson.decode(current)
local read = cjson.decode(ARGV[3])
if not same(record.id, read.id) or not same(record.brokerId, read.brokerId) or not same(record.category, read.category) then return {'RETRY'} end
redis.call('DEL', KEYS[1])
redis.call('ZREM', KEYS[2], ARGV[1])
redis.call('ZREM', KEYS[3], ARGV[2])
delete_if_points_to(KEYS[4], ARGV[1])
if not is_null(record.brokerId) then redis.call('SREM', KEYS[5], ARGV[1]) end
if not is_null(record.category) then redis.call('ZREM', KEYS[6], ARGV[2]) end
return {'OK'}
`,
);

/**
 * One batch of a broker's index: each device still online with this brokerId goes offline
 * (lastSeenOn = now); one gone or moved to another broker leaves the index. Answers how many
 * went offline. modifiedOn becomes now as well, as on SQLite.
 * KEYS: brokerDevices, then the device of each member. ARGV: brokerId, now, then the members
 */
export const markBrokerDevicesOfflineScript = defineScript(
  'mark_broker_devices_offline',
  'variable',
  `${flatRecordHelpers}
local changed = 0
for i = 2, #KEYS do
  local member = ARGV[i + 1]
  local current = redis.call('GET', KEYS[i])
  local record = current and cjson.decode(current)
  if not record or record.brokerId ~= ARGV[1] then
    redis.call('SREM', KEYS[1], member)
  elseif record.online == true then
    record.online = false
    record.lastSeenOn = tonumber(ARGV[2])
    record.modifiedOn = tonumber(ARGV[2])
    redis.call('SET', KEYS[i], encode_flat(record))
    changed = changed + 1
  end
end
return {'OK', changed}
`,
);

/**
 * One device's connection to a broker process ended: online false and lastSeenOn now, unless the
 * record shows it online on another broker process. KEYS: device. ARGV: brokerId, now
 */
export const markDeviceOfflineScript = defineScript(
  'mark_device_offline',
  1,
  `${flatRecordHelpers}
local current = redis.call('GET', KEYS[1])
if not current then return {'OK', 0} end
local record = cjson.decode(current)
if record.online == true and not is_null(record.brokerId) and record.brokerId ~= ARGV[1] then return {'OK', 0} end
record.online = false
record.lastSeenOn = tonumber(ARGV[2])
record.modifiedOn = tonumber(ARGV[2])
redis.call('SET', KEYS[1], encode_flat(record))
return {'OK', 1}
`,
);

/**
 * Maps the id of a record stored before device ids to it, unless the record has gained an id
 * (an upsert maps that one itself). KEYS: device, deviceId. ARGV: devicesMember
 */
export const mapLegacyDeviceIdScript = defineScript(
  'map_legacy_device_id',
  2,
  `${flatRecordHelpers}
local current = redis.call('GET', KEYS[1])
if current and is_null(cjson.decode(current).id) then redis.call('SET', KEYS[2], ARGV[1]) end
return {'OK'}
`,
);

export const deviceScripts = [upsertDeviceScript, deleteDeviceScript, markBrokerDevicesOfflineScript, markDeviceOfflineScript, mapLegacyDeviceIdScript];
