import type { Aedes, AedesPublishPacket, Client } from 'aedes';
import type { Redis } from 'ioredis';
import { encodeStreamFields, provisionStreamKey } from '../cluster/provision-stream.ts';
import type { Logger } from '../log/logger.ts';
import { parseDeviceTopic, provisioningApp } from '../protocol/topics.ts';

export interface ProvisionStreamBridgeOptions {
  readonly redis: Redis;
  readonly redisKeyPrefix: string;
  readonly provisioningAccount: string;
  /** XADD MAXLEN ~ this. */
  readonly maxLength: number;
  /** Messages of one clientId queued per second at most (PROVISIO_PROVISION_MESSAGE_BURST); the rest are dropped. */
  readonly perClientPerSecond: number;
  readonly log: Logger;
}

/**
 * At most `limit` messages per clientId in each one-second window. The stream is shared by every
 * device of the cluster and trimmed to a length: without this, one device publishing in a loop
 * would push the others' messages out before a provisioner rate-limits it (issue 20 §2). The
 * provisioner's own limit (429, then silence) still applies to what gets through.
 */
class PerClientWindow {
  private readonly windows = new Map<string, { start: number; count: number }>();

  constructor(private readonly limit: number) {}

  admit(clientId: string, now: number): boolean {
    const window = this.windows.get(clientId);
    if (!window || now - window.start >= 1000) {
      if (this.windows.size >= 10_000) this.prune(now);
      this.windows.set(clientId, { start: now, count: 1 });
      return true;
    }
    window.count += 1;
    return window.count <= this.limit;
  }

  private prune(now: number): void {
    for (const [clientId, window] of this.windows) if (now - window.start >= 1000) this.windows.delete(clientId);
  }
}

/** EXEC/provision and EXEC/complete of the provisioning account: what the provisioner answers. */
function isProvisioningRequest(topic: string, provisioningAccount: string): boolean {
  const parsed = parseDeviceTopic(topic);
  if (!parsed || parsed.account !== provisioningAccount || parsed.rest[0] !== provisioningApp) return false;
  const action = parsed.rest.slice(1).join('/');
  return action === 'EXEC/provision' || action === 'EXEC/complete';
}

/** A TLS connection (a TLSSocket says `encrypted`): the provisioner sends generated keys over TLS only. */
function isEncrypted(client: Client): boolean {
  return (client.conn as { encrypted?: boolean }).encrypted === true;
}

/**
 * Cluster mode: appends each provision or completion message a device published on THIS broker
 * to the provision stream. Only messages with a client of this broker: one arriving from another
 * broker through the shared topic space has no client here, and its own broker queues it.
 * The broker has acknowledged the PUBLISH already (aedes sends PUBACK first), so a message lost
 * here (Redis away for longer than the device waits) is recovered by the device, which sends
 * the same request.id again after its timeout (PROTOCOL.md §11).
 */
export function bridgeProvisionMessagesToStream(aedes: Aedes, options: ProvisionStreamBridgeOptions): void {
  const key = provisionStreamKey(options.redisKeyPrefix);
  const admission = new PerClientWindow(options.perClientPerSecond);
  let dropped = 0;
  aedes.on('publish', (packet: AedesPublishPacket, client: Client | null) => {
    if (!client || !isProvisioningRequest(packet.topic, options.provisioningAccount)) return;
    if (!admission.admit(client.id, Date.now())) {
      // One line per thousand, not per message: the flood must not become a log flood.
      if (dropped++ % 1000 === 0)
        options.log.warn({ clientId: client.id, dropped }, 'provisioning messages over the per-device rate dropped before the stream');
      return;
    }
    const payload = Buffer.isBuffer(packet.payload) ? packet.payload : Buffer.from(packet.payload);
    options.redis
      .xadd(key, 'MAXLEN', '~', String(options.maxLength), '*', ...encodeStreamFields({ topic: packet.topic, payload, secure: isEncrypted(client) }))
      .catch((error: unknown) =>
        options.log.warn({ err: error, clientId: client.id, topic: packet.topic }, 'provision message not queued; the device will send it again'),
      );
  });
}
