import type { BrokerHeartbeat } from '../types.ts';
import { recordBrokerHeartbeatScript } from './record-scripts.ts';
import type { RedisContext } from './redis-context.ts';

/** Broker heartbeats: one hash, brokerId -> seenOn. */
export class RedisBrokerHeartbeats {
  constructor(private readonly context: RedisContext) {}

  async record(brokerId: string, seenOn: number): Promise<void> {
    const { keys, scripts } = this.context;
    await scripts.run(recordBrokerHeartbeatScript, [keys.brokerHeartbeats()], [brokerId, seenOn]);
  }

  /** Ordered by brokerId, bytewise (as SQLite compares text). */
  async list(): Promise<BrokerHeartbeat[]> {
    const stored = await this.context.redis.hgetall(this.context.keys.brokerHeartbeats());
    return Object.entries(stored)
      .map(([brokerId, seenOn]) => ({ brokerId, seenOn: Number(seenOn) }))
      .sort((a, b) => Buffer.compare(Buffer.from(a.brokerId), Buffer.from(b.brokerId)));
  }

  async delete(brokerId: string): Promise<void> {
    await this.context.redis.hdel(this.context.keys.brokerHeartbeats(), brokerId);
  }
}
