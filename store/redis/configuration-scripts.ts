import { defineScript } from './script-runner.ts';

/**
 * Configuration scripts: a configuration's record and its versions (a sorted set of
 * ConfigurationVersion JSONs scored by version) change together. A configuration stored before
 * versions were kept has no version field (it is version 1) and no versions.
 */

/** KEYS: configuration, account, accountConfigurations, versions. ARGV: id, json, createdOn, versionJson (version 1) */
export const createConfigurationScript = defineScript(
  'create_configuration',
  4,
  `
if redis.call('EXISTS', KEYS[2]) == 0 then return {'NOT_FOUND', 'accountNotFound'} end
redis.call('SET', KEYS[1], ARGV[2])
redis.call('ZADD', KEYS[3], ARGV[3], ARGV[1])
redis.call('ZADD', KEYS[4], 1, ARGV[4])
return {'OK'}
`,
);

/**
 * Compare-and-set on version: the record becomes the next version, which joins the versions.
 * When there are none yet (stored before versions), the current content joins first, as version 1.
 * KEYS: configuration, versions. ARGV: expectedVersion, json, versionJson, currentVersionJson
 */
export const updateConfigurationContentScript = defineScript(
  'update_configuration_content',
  2,
  `
local current = redis.call('GET', KEYS[1])
if not current then return {'NOT_FOUND', 'configurationNotFound'} end
local expected = tonumber(ARGV[1])
if (version_of(current) or 1) ~= expected then return {'VERSION_CONFLICT', 'staleVersion'} end
if redis.call('EXISTS', KEYS[2]) == 0 then redis.call('ZADD', KEYS[2], expected, ARGV[4]) end
redis.call('SET', KEYS[1], ARGV[2])
redis.call('ZADD', KEYS[2], expected + 1, ARGV[3])
return {'OK'}
`,
);

/** KEYS: configuration, accountConfigurations, versions. ARGV: id */
export const deleteConfigurationScript = defineScript(
  'delete_configuration',
  3,
  `
if redis.call('DEL', KEYS[1]) == 0 then return {'NOT_FOUND', 'configurationNotFound'} end
redis.call('ZREM', KEYS[2], ARGV[1])
redis.call('DEL', KEYS[3])
return {'OK'}
`,
);

export const configurationScripts = [createConfigurationScript, updateConfigurationContentScript, deleteConfigurationScript];
