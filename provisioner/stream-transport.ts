import type { Redis } from 'ioredis';
import { decodeStreamFields, provisionStreamGroup, provisionStreamKey } from '../cluster/provision-stream.ts';
import type { Logger } from '../log/logger.ts';
import { provisionStreamClaimed } from '../metrics/metrics.ts';
import type { MessageHandler, ProvisioningTransport } from './transport.ts';

export interface StreamTransportOptions {
  /** A connection of its own: XREADGROUP BLOCK holds it. */
  readonly redis: Redis;
  readonly redisKeyPrefix: string;
  /** Unique per worker process: its pending entries are its own. */
  readonly consumerName: string;
  /** Entries handled at once. */
  readonly concurrency: number;
  /** Entries of a silent consumer older than this are claimed. */
  readonly claimIdleMs: number;
  /** Where replies go: the shared topic space (a headless aedes node, platform/reply-node.ts). */
  readonly publish: (topic: string, payload: Buffer) => Promise<void>;
  readonly log: Logger;
}

type StreamEntry = [id: Buffer, fields: Buffer[] | null];

const blockMs = 2000;
const retryDelayMs = 500;

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * The provisioner's transport in cluster mode: takes messages from the provision stream with a
 * consumer group (XREADGROUP), hands each to the provisioner, and acknowledges it (XACK) only
 * once it was handled and its reply published. Entries another worker took and never
 * acknowledged are claimed after claimIdleMs (XAUTOCLAIM) and handled again: at least once,
 * made effectively once by the provisioner's idempotency per request.id.
 */
export function streamTransport(options: StreamTransportOptions): ProvisioningTransport {
  const { redis, log } = options;
  const key = provisionStreamKey(options.redisKeyPrefix);
  const inFlight = new Set<Promise<void>>();
  let handler: MessageHandler | null = null;
  let running = false;
  let loop: Promise<void> | null = null;
  let lastClaimAt = 0;

  async function ensureGroup(): Promise<void> {
    try {
      await redis.xgroup('CREATE', key, provisionStreamGroup, '0', 'MKSTREAM');
    } catch (error) {
      if (!String((error as Error).message).includes('BUSYGROUP')) throw error;
    }
  }

  async function handleEntry([idBuffer, fields]: StreamEntry): Promise<void> {
    const id = idBuffer.toString('utf8');
    const message = decodeStreamFields(fields);
    try {
      if (message && handler) await handler(message.topic, message.payload, { secure: message.secure });
      await redis.xack(key, provisionStreamGroup, id);
    } catch (error) {
      // Not acknowledged: it stays pending and is claimed again after claimIdleMs.
      log.warn({ err: error, entry: id }, 'provision stream entry not handled; it will be claimed again');
    }
  }

  function dispatch(entries: readonly StreamEntry[]): void {
    for (const entry of entries) {
      const work = handleEntry(entry).finally(() => inFlight.delete(work));
      inFlight.add(work);
    }
  }

  async function waitForRoom(): Promise<void> {
    while (inFlight.size >= options.concurrency) await Promise.race(inFlight);
  }

  /** Entries left pending by a worker that died (or by this one before a restart). */
  async function claimAbandoned(): Promise<void> {
    let cursor = '0-0';
    do {
      await waitForRoom();
      const room = Math.max(1, options.concurrency - inFlight.size);
      const answer = (await redis.callBuffer(
        'XAUTOCLAIM',
        key,
        provisionStreamGroup,
        options.consumerName,
        String(options.claimIdleMs),
        cursor,
        'COUNT',
        String(room),
      )) as [Buffer, StreamEntry[], ...unknown[]];
      cursor = answer[0].toString('utf8');
      const entries = answer[1].filter((entry) => entry[1] !== null);
      if (entries.length > 0) {
        provisionStreamClaimed.inc(entries.length);
        log.info({ count: entries.length }, 'claimed provision messages abandoned by another worker');
      }
      dispatch(entries);
    } while (running && cursor !== '0-0');
  }

  async function run(): Promise<void> {
    while (running) {
      try {
        if (Date.now() - lastClaimAt > Math.min(options.claimIdleMs / 2, 5000)) {
          lastClaimAt = Date.now();
          await claimAbandoned();
        }
        await waitForRoom();
        const room = options.concurrency - inFlight.size;
        const answer = (await redis.callBuffer(
          'XREADGROUP',
          'GROUP',
          provisionStreamGroup,
          options.consumerName,
          'COUNT',
          String(room),
          'BLOCK',
          String(blockMs),
          'STREAMS',
          key,
          '>',
        )) as [Buffer, StreamEntry[]][] | null;
        for (const [, entries] of answer ?? []) dispatch(entries);
      } catch (error) {
        if (!running) return;
        const message = String((error as Error).message);
        // Redis came back without the group (restarted without its data): make it again.
        if (message.includes('NOGROUP')) await ensureGroup().catch(() => undefined);
        else log.warn({ err: message }, 'provision stream not readable; retrying');
        await sleep(retryDelayMs);
      }
    }
  }

  return {
    async start(_filters, messageHandler) {
      handler = messageHandler;
      await ensureGroup();
      running = true;
      loop = run();
    },
    publish: (topic, payload) => options.publish(topic, payload),
    async close() {
      running = false;
      // The blocked XREADGROUP ends within blockMs; entries in hand are finished and acknowledged.
      await loop;
      await Promise.allSettled([...inFlight]);
    },
  };
}
