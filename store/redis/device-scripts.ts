import { defineScript } from './script-runner.ts';

/**
 * Device record scripts. A device's record changes by read-modify-write inside the script, so
 * concurrent upserts of different fields (a birth, a disconnect, a completed provisioning)
 * each apply to what the previous one wrote and none is lost.
 */

/**
 * Encodes a flat record. cjson.encode writes numbers with 14 significant digits, which would
 * round large numbers; %.17g writes every double exactly (integers as integers).
 */
const encodeFlat = `
local function encode_flat(record)
  local parts = {}
  for field, value in pairs(record) do
    local encoded
    if type(value) == 'number' then encoded = string.format('%.17g', value) else encoded = cjson.encode(value) end
    parts[#parts + 1] = cjson.encode(field) .. ':' .. encoded
  end
  return '{' .. table.concat(parts, ',') .. '}'
end
`;

/**
 * Applies the patch to the stored record, or to the empty record when there is none, stamps
 * modifiedOn and indexes the device. Answers the record now stored.
 * KEYS: device, devices, accountDevices. ARGV: devicesMember, clientId, emptyJson, patchJson, now
 */
export const upsertDeviceScript = defineScript(
  'upsert_device',
  3,
  `${encodeFlat}
local current = redis.call('GET', KEYS[1])
local record = cjson.decode(current or ARGV[3])
for field, value in pairs(cjson.decode(ARGV[4])) do record[field] = value end
record.modifiedOn = tonumber(ARGV[5])
local json = encode_flat(record)
redis.call('SET', KEYS[1], json)
redis.call('ZADD', KEYS[2], 0, ARGV[1])
redis.call('ZADD', KEYS[3], 0, ARGV[2])
return {'OK', json}
`,
);

/** KEYS: device, devices, accountDevices. ARGV: devicesMember, clientId */
export const deleteDeviceScript = defineScript(
  'delete_device',
  3,
  `
if redis.call('DEL', KEYS[1]) == 0 then return {'NOT_FOUND', 'deviceNotFound'} end
redis.call('ZREM', KEYS[2], ARGV[1])
redis.call('ZREM', KEYS[3], ARGV[2])
return {'OK'}
`,
);

export const deviceScripts = [upsertDeviceScript, deleteDeviceScript];
