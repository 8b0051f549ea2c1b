import { PlatformError } from '../../errors/platform-error.ts';
import { newRecordId } from '../records.ts';
import type { AuditEvent } from '../types.ts';
import { keptWebhookAttempts, type NewWebhook, type Webhook, type WebhookAttempt, type WebhookPatch } from '../webhook-types.ts';
import { parseRecord, type RedisContext } from './redis-context.ts';
import { defineScript } from './script-runner.ts';

/** KEYS: webhooks hash, audit ids. ARGV: id, webhook JSON without cursor. The cursor starts at the newest audit id. */
const createWebhookScript = defineScript(
  'create_webhook',
  2,
  `
local newest = redis.call('ZRANGE', KEYS[2], -1, -1)[1] or '0'
local webhook = cjson.decode(ARGV[2])
webhook.cursor = newest
redis.call('HSET', KEYS[1], ARGV[1], cjson.encode(webhook))
return {'OK'}
`,
);

/** KEYS: webhooks hash. ARGV: id, patch JSON, modifiedOn. */
const updateWebhookScript = defineScript(
  'update_webhook',
  1,
  `
local json = redis.call('HGET', KEYS[1], ARGV[1])
if not json then return {'NOT_FOUND', 'no such webhook'} end
local webhook = cjson.decode(json)
for field, value in pairs(cjson.decode(ARGV[2])) do webhook[field] = value end
webhook.modifiedOn = tonumber(ARGV[3])
redis.call('HSET', KEYS[1], ARGV[1], cjson.encode(webhook))
return {'OK'}
`,
);

/** KEYS: webhooks hash. ARGV: id, expected cursor, new cursor. */
const moveWebhookCursorScript = defineScript(
  'move_webhook_cursor',
  1,
  `
local json = redis.call('HGET', KEYS[1], ARGV[1])
if not json then return {'OK', 0} end
local webhook = cjson.decode(json)
if webhook.cursor ~= ARGV[2] then return {'OK', 0} end
webhook.cursor = ARGV[3]
redis.call('HSET', KEYS[1], ARGV[1], cjson.encode(webhook))
return {'OK', 1}
`,
);

/** KEYS: lease key. ARGV: holder, ttl ms. Free, expired (gone) or already the holder's. */
const claimWebhookLeaseScript = defineScript(
  'claim_webhook_lease',
  1,
  `
local holder = redis.call('GET', KEYS[1])
if holder and holder ~= ARGV[1] then return {'OK', 0} end
redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
return {'OK', 1}
`,
);

export const webhookScripts = [createWebhookScript, updateWebhookScript, moveWebhookCursorScript, claimWebhookLeaseScript];

const clamp = (value: number, max: number) => Math.min(Math.max(Math.trunc(value), 1), max);

/**
 * Webhooks: one hash of records (the cursor in the record, moved by compare-and-set), a lease key
 * each (expiring by itself), and a trimmed list of recent attempts each.
 */
export class RedisWebhooks {
  constructor(private readonly context: RedisContext) {}

  async create(input: NewWebhook): Promise<Webhook> {
    const { keys, scripts } = this.context;
    const now = Date.now();
    const id = newRecordId(now);
    const record = { ...input, id, eventTypes: [...new Set(input.eventTypes)].sort(), createdOn: now, modifiedOn: now };
    await scripts.run(createWebhookScript, [keys.webhooks(), keys.auditIds()], [id, JSON.stringify(record)]);
    return (await this.get(id))!;
  }

  async get(id: string): Promise<Webhook | null> {
    const json = await this.context.redis.hget(this.context.keys.webhooks(), id);
    return json ? webhookOf(json) : null;
  }

  async list(): Promise<Webhook[]> {
    const stored = await this.context.redis.hvals(this.context.keys.webhooks());
    return stored.map(webhookOf).sort((a, b) => a.createdOn - b.createdOn || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
  }

  async update(id: string, patch: WebhookPatch): Promise<Webhook> {
    const { keys, scripts } = this.context;
    const defined = Object.fromEntries(Object.entries(patch).filter(([, value]) => value !== undefined));
    if (patch.eventTypes) defined['eventTypes'] = [...new Set(patch.eventTypes)].sort();
    await scripts.run(updateWebhookScript, [keys.webhooks()], [id, JSON.stringify(defined), Date.now()]);
    const webhook = await this.get(id);
    if (!webhook) throw new PlatformError('NOT_FOUND', { detail: 'no such webhook' });
    return webhook;
  }

  async delete(id: string): Promise<void> {
    const { redis, keys } = this.context;
    await redis.multi().hdel(keys.webhooks(), id).del(keys.webhookLease(id), keys.webhookAttempts(id)).exec();
  }

  async moveCursor(id: string, expected: string, cursor: string): Promise<boolean> {
    const { values } = await this.context.scripts.run(moveWebhookCursorScript, [this.context.keys.webhooks()], [id, expected, cursor]);
    return Number(values[0]) === 1;
  }

  /** `now` is the caller's; Redis expires the lease by its own clock after ttlMs. */
  async claimLease(id: string, holder: string, _now: number, ttlMs: number): Promise<boolean> {
    const { values } = await this.context.scripts.run(claimWebhookLeaseScript, [this.context.keys.webhookLease(id)], [holder, Math.max(1, Math.trunc(ttlMs))]);
    return Number(values[0]) === 1;
  }

  async recordAttempt(attempt: WebhookAttempt): Promise<void> {
    const { redis, keys } = this.context;
    const key = keys.webhookAttempts(attempt.webhookId);
    await redis
      .multi()
      .lpush(key, JSON.stringify(attempt))
      .ltrim(key, 0, keptWebhookAttempts - 1)
      .exec();
  }

  async listAttempts(webhookId: string, limit: number): Promise<WebhookAttempt[]> {
    const stored = await this.context.redis.lrange(this.context.keys.webhookAttempts(webhookId), 0, clamp(limit, keptWebhookAttempts) - 1);
    return stored.map((json) => parseRecord<WebhookAttempt>(json));
  }

  async listAuditAfter(afterId: string, limit: number): Promise<AuditEvent[]> {
    const { redis, keys } = this.context;
    const ids = await redis.zrangebyscore(keys.auditIds(), `(${Number(afterId)}`, '+inf', 'LIMIT', 0, clamp(limit, 1000));
    if (ids.length === 0) return [];
    const records = await redis.hmget(keys.auditEvents(), ...ids);
    const events: AuditEvent[] = [];
    ids.forEach((id, index) => {
      const json = records[index];
      if (json) events.push({ id, ...parseRecord<Omit<AuditEvent, 'id'>>(json) });
    });
    return events;
  }
}

function webhookOf(json: string): Webhook {
  const stored = parseRecord<Webhook>(json);
  // cjson encodes an empty array as {}: event types are never empty through the API, but read them safely.
  return { ...stored, eventTypes: Array.isArray(stored.eventTypes) ? stored.eventTypes : [], cursor: String(stored.cursor) };
}
