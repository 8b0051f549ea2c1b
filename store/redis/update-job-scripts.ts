import { jobDeviceStates } from '../types.ts';
import { defineScript } from './script-runner.ts';

/**
 * Update job scripts. A job's devices live in a hash (clientId -> JobDeviceStatus JSON) with
 * two kinds of index beside it: the job's clientIds (all, and per state, for listing and
 * counting) and per device the jobs that touched it (for listDeviceJobs). A state change
 * moves the clientId between the per-state indexes in the same script.
 */

/** KEYS: job, account, jobs, accountJobs. ARGV: id, json, createdOn */
export const createUpdateJobScript = defineScript(
  'create_update_job',
  4,
  `
if redis.call('EXISTS', KEYS[2]) == 0 then return {'NOT_FOUND', 'accountNotFound'} end
redis.call('SET', KEYS[1], ARGV[2])
redis.call('ZADD', KEYS[3], ARGV[3], ARGV[1])
redis.call('ZADD', KEYS[4], ARGV[3], ARGV[1])
return {'OK'}
`,
);

/** The keys of the per-state indexes follow the four others, in the order of jobDeviceStates. */
const jobDeviceStatusKeyCount = 4 + jobDeviceStates.length;

/**
 * Sets one device's status in a job. With ARGV[5] '1', only when the stored state (PENDING when
 * there is none) is one of ARGV[6..]: otherwise answers {'OK'} without a status and writes nothing.
 * KEYS: job, statuses, jobDevices, deviceJobs, then jobDevicesInState of each state
 * ARGV: clientId, statusJson, state, jobId, restricted ('1' | '0'), allowed states...
 */
export const setJobDeviceStatusScript = defineScript(
  'set_job_device_status',
  jobDeviceStatusKeyCount,
  `
local states = {${jobDeviceStates.map((state) => `'${state}'`).join(', ')}}
local function state_key(state)
  for i, name in ipairs(states) do
    if name == state then return KEYS[4 + i] end
  end
  error('unknown job device state ' .. tostring(state))
end
local job = redis.call('GET', KEYS[1])
if not job then return {'NOT_FOUND', 'updateJobNotFound'} end
local current = redis.call('HGET', KEYS[2], ARGV[1])
local current_state = nil
if current then current_state = cjson.decode(current).state end
if ARGV[5] == '1' then
  local allowed = false
  for i = 6, #ARGV do
    if ARGV[i] == (current_state or 'PENDING') then allowed = true end
  end
  if not allowed then return {'OK'} end
end
redis.call('HSET', KEYS[2], ARGV[1], ARGV[2])
if current_state and current_state ~= ARGV[3] then redis.call('ZREM', state_key(current_state), ARGV[1]) end
redis.call('ZADD', state_key(ARGV[3]), 0, ARGV[1])
if not current then
  redis.call('ZADD', KEYS[3], 0, ARGV[1])
  redis.call('ZADD', KEYS[4], string.format('%.17g', cjson.decode(job).createdOn), ARGV[4])
end
return {'OK', ARGV[2]}
`,
);

export const updateJobScripts = [createUpdateJobScript, setJobDeviceStatusScript];
