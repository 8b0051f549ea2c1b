/**
 * The Redis stream that carries provision and completion messages from the broker processes to
 * the provisioner workers (cluster mode). One entry per message a device published, with its
 * topic and payload; one consumer group, so each entry goes to one worker, and an entry a worker
 * took but never acknowledged (it crashed) is claimed by another (XAUTOCLAIM). Delivery is at
 * least once; the provisioner's handling is idempotent per request.id (provision-attempt.ts).
 */
export const provisionStreamGroup = 'provisioners';

export function provisionStreamKey(redisKeyPrefix: string): string {
  return `${redisKeyPrefix}stream:provision`;
}

export interface StreamMessage {
  readonly topic: string;
  readonly payload: Buffer;
  /** The device's connection was TLS (field `secure`: '1'); entries without it count as not. */
  readonly secure: boolean;
}

/** XADD field list. */
export function encodeStreamFields(message: StreamMessage): (string | Buffer)[] {
  return ['topic', message.topic, 'payload', message.payload, 'secure', message.secure ? '1' : '0'];
}

/** From XREADGROUP / XAUTOCLAIM field lists (read as buffers); null for an entry that is not ours. */
export function decodeStreamFields(fields: readonly Buffer[] | null | undefined): StreamMessage | null {
  if (!fields) return null;
  let topic: string | undefined;
  let payload: Buffer | undefined;
  let secure = false;
  for (let i = 0; i + 1 < fields.length; i += 2) {
    const name = fields[i]?.toString('utf8');
    if (name === 'topic') topic = fields[i + 1]?.toString('utf8');
    else if (name === 'payload') payload = fields[i + 1];
    else if (name === 'secure') secure = fields[i + 1]?.toString('utf8') === '1';
  }
  return topic !== undefined && payload !== undefined ? { topic, payload, secure } : null;
}
