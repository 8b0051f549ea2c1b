/**
 * "Bring these devices up to date" (issue 15): what the admin API hands to the broker side after
 * a change that some online devices must hear of at once: a configuration edited, a device moved
 * to another category, an update job created or resumed. The API names the devices the store
 * records as online; the process holding a device's account-broker connection works out what the
 * device lacks (its held configuration, the latest matching update job) and sends it, exactly as
 * after the device's birth. One process applies a notice in place; a cluster carries it on a
 * Redis channel every broker process subscribes to (cluster/fleet-update-channel.ts).
 */
export interface FleetUpdateNotice {
  readonly accountId: string;
  /** The account's name: the topic level of its devices ($EDC/{accountName}/{clientId}/...). */
  readonly accountName: string;
  /** Devices of that account; at most fleetUpdateNoticeMaxClientIds per notice. */
  readonly clientIds: readonly string[];
  /** What changed, for the logs: e.g. configuration, category, job. */
  readonly cause: string;
}

/** Keeps a notice well under a Redis message's practical size (clientIds are at most 128 bytes). */
export const fleetUpdateNoticeMaxClientIds = 500;

export interface FleetUpdateSender {
  /**
   * One process: resolves once each named device connected to it was brought up to date.
   * Cluster: once the notice is on the channel; each broker process updates its own devices.
   */
  tellToUpdate(notice: FleetUpdateNotice): Promise<void>;
}

export function fleetUpdateChannel(redisKeyPrefix: string): string {
  return `${redisKeyPrefix}channel:fleet-update`;
}

export function encodeFleetUpdateNotice(notice: FleetUpdateNotice): string {
  return JSON.stringify(notice);
}

const isString = (value: unknown): value is string => typeof value === 'string';

/** From a channel message; null for a message that is not a whole notice. */
export function decodeFleetUpdateNotice(text: string): FleetUpdateNotice | null {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return null;
  }
  if (value === null || typeof value !== 'object') return null;
  const { accountId, accountName, clientIds, cause } = value as Record<string, unknown>;
  if (!isString(accountId) || !isString(accountName) || !isString(cause)) return null;
  if (!Array.isArray(clientIds) || !clientIds.every(isString) || clientIds.length > fleetUpdateNoticeMaxClientIds) return null;
  return { accountId, accountName, clientIds, cause };
}

/** Splits many devices into notices of at most fleetUpdateNoticeMaxClientIds. */
export function fleetUpdateNotices(base: Omit<FleetUpdateNotice, 'clientIds'>, clientIds: readonly string[]): FleetUpdateNotice[] {
  const notices: FleetUpdateNotice[] = [];
  for (let start = 0; start < clientIds.length; start += fleetUpdateNoticeMaxClientIds) {
    notices.push({ ...base, clientIds: clientIds.slice(start, start + fleetUpdateNoticeMaxClientIds) });
  }
  return notices;
}
