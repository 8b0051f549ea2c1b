/**
 * Topic names of the provisioning protocol, in Kura's conventions
 * ($EDC/{account}/{clientId}/{APP-Vn}/{VERB}/{resource}). docs/PROTOCOL.md is the contract.
 */
export const provisioningApp = 'PROV-V1';
export const configurationApp = 'CONF-V1';

export function deviceNamespace(account: string, clientId: string): string {
  return `$EDC/${account}/${clientId}`;
}

/** Device → platform: "provision me". */
export function provisionRequestTopic(provisioningAccount: string, clientId: string): string {
  return `${deviceNamespace(provisioningAccount, clientId)}/${provisioningApp}/EXEC/provision`;
}

/** Device → platform: "installed, here is my configuration hash". */
export function provisionCompleteTopic(provisioningAccount: string, clientId: string): string {
  return `${deviceNamespace(provisioningAccount, clientId)}/${provisioningApp}/EXEC/complete`;
}

/** Platform → device: the answer to the message whose request.id is requestId. */
export function replyTopic(provisioningAccount: string, clientId: string, requestId: string): string {
  return `${deviceNamespace(provisioningAccount, clientId)}/${provisioningApp}/REPLY/${requestId}`;
}

/** What a device subscribes to before it sends anything. */
export function replyFilter(provisioningAccount: string, clientId: string): string {
  return `${deviceNamespace(provisioningAccount, clientId)}/${provisioningApp}/REPLY/+`;
}

/** The platform's subscriptions on the provision broker. */
export function platformRequestFilters(provisioningAccount: string): string[] {
  return [
    `$EDC/${provisioningAccount}/+/${provisioningApp}/EXEC/provision`,
    `$EDC/${provisioningAccount}/+/${provisioningApp}/EXEC/complete`,
  ];
}

/** Lifecycle: the birth message a device publishes on its account broker. */
export function birthTopic(account: string, clientId: string): string {
  return `${deviceNamespace(account, clientId)}/MQTT/BIRTH`;
}

export function disconnectTopic(account: string, clientId: string): string {
  return `${deviceNamespace(account, clientId)}/MQTT/DC`;
}

export function lastWillTopic(account: string, clientId: string): string {
  return `${deviceNamespace(account, clientId)}/MQTT/LWT`;
}

/** Platform → device on the account broker: a configuration to apply. */
export function configurationPushTopic(account: string, clientId: string): string {
  return `${deviceNamespace(account, clientId)}/${configurationApp}/PUT/configuration`;
}

export interface ParsedDeviceTopic {
  readonly account: string;
  readonly clientId: string;
  /** Everything after $EDC/{account}/{clientId}/, split on '/'. */
  readonly rest: readonly string[];
}

/** Splits `$EDC/{account}/{clientId}/...`; null for anything else. */
export function parseDeviceTopic(topic: string): ParsedDeviceTopic | null {
  const parts = topic.split('/');
  if (parts.length < 4 || parts[0] !== '$EDC') return null;
  const [, account, clientId, ...rest] = parts;
  if (!account || !clientId) return null;
  return { account, clientId, rest };
}

/**
 * A clientId that could widen or escape its topic namespace is refused at CONNECT:
 * topic separators and wildcards, a leading '$', control characters, NUL [MQTT-1.5.3-2],
 * and anything over 128 characters.
 */
export function isAcceptableClientId(clientId: string): boolean {
  if (clientId.length === 0 || clientId.length > 128) return false;
  if (clientId.startsWith('$')) return false;
  // eslint-disable-next-line no-control-regex
  return !/[/+#\u0000-\u001f\u007f-\u009f]/.test(clientId);
}

/** True when a topic name contains a wildcard; such publishes are always refused [MQTT-3.3.2-2]. */
export function hasWildcard(topic: string): boolean {
  return topic.includes('+') || topic.includes('#');
}
