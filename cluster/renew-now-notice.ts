/**
 * "Tell these devices to renew their certificate now" (CERT-V1 renew now, docs/PROTOCOL.md): what
 * the admin API hands to the broker side after an operator's POST /api/v1/certificate-renewals.
 * The API resolves the target (one device or one account) to the devices the store records as
 * online and names them; the process holding a device's account-broker connection signs and
 * publishes the command to it. One process applies a notice in place; a cluster carries it on a
 * Redis channel that every broker process subscribes to (cluster/renew-now-channel.ts).
 */
export interface RenewNowNotice {
  /** The operator's request: the command's request.id, and the id in the audit event. */
  readonly renewalId: string;
  readonly accountId: string;
  /** The account's name: the topic level of its devices ($EDC/{accountName}/{clientId}/...). */
  readonly accountName: string;
  /** Devices of that account; at most renewNoticeMaxClientIds per notice. */
  readonly clientIds: readonly string[];
  /** renew.within.seconds of the command. */
  readonly withinSeconds: number;
  /** The operator's reason: the `message` of the signed statement (may be empty). */
  readonly reason: string;
}

/** Keeps a notice well under a Redis message's practical size (clientIds are at most 128 bytes). */
export const renewNoticeMaxClientIds = 500;

export interface RenewNowSender {
  /**
   * One process: resolves once the command was published to each named device connected to it.
   * Cluster: once the notice is on the channel; each broker process publishes to its own devices.
   */
  tellToRenew(notice: RenewNowNotice): Promise<void>;
}

export function renewNowChannel(redisKeyPrefix: string): string {
  return `${redisKeyPrefix}channel:renew-now`;
}

export function encodeRenewNowNotice(notice: RenewNowNotice): string {
  return JSON.stringify(notice);
}

const isString = (value: unknown): value is string => typeof value === 'string';

/** From a channel message; null for a message that is not a whole notice. */
export function decodeRenewNowNotice(text: string): RenewNowNotice | null {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return null;
  }
  if (value === null || typeof value !== 'object') return null;
  const { renewalId, accountId, accountName, clientIds, withinSeconds, reason } = value as Record<string, unknown>;
  if (!isString(renewalId) || !isString(accountId) || !isString(accountName) || !isString(reason)) return null;
  if (!Array.isArray(clientIds) || !clientIds.every(isString) || clientIds.length > renewNoticeMaxClientIds) return null;
  if (typeof withinSeconds !== 'number' || !Number.isInteger(withinSeconds) || withinSeconds < 0) return null;
  return { renewalId, accountId, accountName, clientIds, withinSeconds, reason };
}
