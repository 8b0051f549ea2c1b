import type { PlatformConfig } from '../config/config.ts';

/**
 * What a broker does with a PUBLISH whose retain flag is set (issue 12 §3): the provision broker
 * has no use for retained messages and refuses them; the account broker keeps them within bounds.
 */
export type RetainedPolicy = 'refuse' | RetainedBounds;

export interface RetainedBounds {
  /** Retained messages (topics) one device may hold. */
  readonly messagesPerDevice: number;
  /** Bytes (topic plus payload) of all the retained messages of one device. */
  readonly bytesPerDevice: number;
  /** Bytes (topic plus payload) of the retained messages of every device this process knows of. */
  readonly bytesTotal: number;
}

export type RetainedLimitSettingKey = 'retainedMessagesPerDevice' | 'retainedBytesPerDevice' | 'retainedBytesTotal';

export function retainedBoundsOf(config: Pick<PlatformConfig, RetainedLimitSettingKey>): RetainedBounds {
  return { messagesPerDevice: config.retainedMessagesPerDevice, bytesPerDevice: config.retainedBytesPerDevice, bytesTotal: config.retainedBytesTotal };
}

/** Why a retained PUBLISH was refused; null when accepted. */
export type RetainedRefusal = 'RETAINED_MESSAGES_PER_DEVICE' | 'RETAINED_BYTES_PER_DEVICE' | 'RETAINED_BYTES_TOTAL';

/** What aedes keeps retained messages in (its persistence, in memory or on Redis). */
export interface RetainedSource {
  createRetainedStreamCombi(patterns: string[]): AsyncIterable<{ readonly topic: string; readonly payload: Buffer | string }>;
}

/** A device as the ledger knows it: a key and the topic prefixes it may publish under. */
export interface RetainingDevice {
  readonly key: string;
  readonly namespaces: readonly string[];
}

interface Holdings {
  /** Topic → bytes (topic plus payload) of each retained message the device holds. */
  readonly topics: Map<string, number>;
  bytes: number;
}

function sizeOf(topic: string, payloadBytes: number): number {
  return Buffer.byteLength(topic) + payloadBytes;
}

/**
 * Counts the retained messages of each device, so that a retained PUBLISH can be refused before
 * aedes stores it. A device's holdings are read once from aedes' persistence (in a cluster another
 * broker process, or this one before a restart, may have stored some) and then kept up to date by
 * the PUBLISHes this ledger admits; a device holding nothing is forgotten when it disconnects.
 * Memory: one entry per retained message, which the broker stores anyway.
 */
export class RetainedLedger {
  private readonly devices = new Map<string, Holdings>();
  private readonly loading = new Map<string, Promise<Holdings>>();
  private totalBytes = 0;

  constructor(
    private readonly bounds: RetainedBounds,
    private readonly source: () => RetainedSource,
  ) {}

  /**
   * Admits (and counts) or refuses a retained PUBLISH of `device` to `topic`. An empty payload
   * deletes the retained message [MQTT-3.3.1-10]: always admitted.
   */
  async admit(device: RetainingDevice, topic: string, payloadBytes: number): Promise<RetainedRefusal | null> {
    if (payloadBytes === 0) {
      // Nothing to learn from the persistence for a deletion: a device not loaded yet is read when it next retains something.
      if (this.devices.has(device.key) || this.loading.has(device.key)) this.release(await this.holdingsOf(device), topic);
      return null;
    }
    const holdings = await this.holdingsOf(device);
    // Synchronous from here on: concurrent PUBLISHes of one client are checked one after the other.
    const previous = holdings.topics.get(topic);
    const size = sizeOf(topic, payloadBytes);
    if (previous === undefined && holdings.topics.size >= this.bounds.messagesPerDevice) return 'RETAINED_MESSAGES_PER_DEVICE';
    if (holdings.bytes - (previous ?? 0) + size > this.bounds.bytesPerDevice) return 'RETAINED_BYTES_PER_DEVICE';
    if (this.totalBytes - (previous ?? 0) + size > this.bounds.bytesTotal) return 'RETAINED_BYTES_TOTAL';
    holdings.topics.set(topic, size);
    holdings.bytes += size - (previous ?? 0);
    this.totalBytes += size - (previous ?? 0);
    return null;
  }

  /** The device's connection ended: forget it if it holds nothing (it is read again when it retains something). */
  disconnected(deviceKey: string): void {
    const holdings = this.devices.get(deviceKey);
    if (holdings && holdings.topics.size === 0) this.devices.delete(deviceKey);
  }

  /** Retained messages and bytes this ledger counts, for one device or in all. */
  usage(deviceKey?: string): { readonly messages: number; readonly bytes: number } {
    if (deviceKey === undefined) {
      let messages = 0;
      for (const holdings of this.devices.values()) messages += holdings.topics.size;
      return { messages, bytes: this.totalBytes };
    }
    const holdings = this.devices.get(deviceKey);
    return { messages: holdings?.topics.size ?? 0, bytes: holdings?.bytes ?? 0 };
  }

  private release(holdings: Holdings, topic: string): void {
    const previous = holdings.topics.get(topic);
    if (previous === undefined) return;
    holdings.topics.delete(topic);
    holdings.bytes -= previous;
    this.totalBytes -= previous;
  }

  private holdingsOf(device: RetainingDevice): Promise<Holdings> | Holdings {
    const known = this.devices.get(device.key);
    if (known) return known;
    let loading = this.loading.get(device.key);
    if (!loading) {
      loading = this.load(device).finally(() => this.loading.delete(device.key));
      this.loading.set(device.key, loading);
    }
    return loading;
  }

  private async load(device: RetainingDevice): Promise<Holdings> {
    const holdings: Holdings = { topics: new Map(), bytes: 0 };
    // One pattern per call: aedes-persistence-redis scans by the patterns' common prefix.
    for (const namespace of device.namespaces) {
      for await (const packet of this.source().createRetainedStreamCombi([`${namespace}#`])) {
        if (holdings.topics.has(packet.topic)) continue;
        const size = sizeOf(packet.topic, typeof packet.payload === 'string' ? Buffer.byteLength(packet.payload) : packet.payload.length);
        holdings.topics.set(packet.topic, size);
        holdings.bytes += size;
      }
    }
    this.totalBytes += holdings.bytes;
    this.devices.set(device.key, holdings);
    return holdings;
  }
}
