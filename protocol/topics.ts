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
  return [`$EDC/${provisioningAccount}/+/${provisioningApp}/EXEC/provision`, `$EDC/${provisioningAccount}/+/${provisioningApp}/EXEC/complete`];
}

/** Lifecycle: the birth message a device publishes on its account broker. */
export function birthTopic(account: string, clientId: string): string {
  return `${deviceNamespace(account, clientId)}/MQTT/BIRTH`;
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

/** The most a clientId may take in UTF-8: MQTT measures strings in bytes (128 ASCII characters, 32 emoji). */
export const maxClientIdBytes = 128;

/**
 * Characters no clientId may hold: topic separators and wildcards ('/', '+', '#'), control
 * characters (Cc, NUL included [MQTT-1.5.3-2]), format characters (Cf: bidirectional overrides,
 * zero-width spaces and joiners, the BOM), anything else that renders as nothing
 * (Default_Ignorable_Code_Point: soft hyphen, variation selectors, fillers), whitespace other than
 * the plain space (U+0020), noncharacters (MQTT 3.1.1 §1.5.3: not to be sent), U+FFFD (what
 * bytes that are not UTF-8 decode to) and lone surrogates (not encodable in UTF-8 [MQTT-1.5.3-1]).
 */
const refusedCharacter = /[/+#\p{Cc}\p{Cf}\p{Cs}\p{Default_Ignorable_Code_Point}\p{Noncharacter_Code_Point}\uFFFD]|(?! )\p{White_Space}/u;

/**
 * The one rule for a clientId, applied at CONNECT by both brokers (CONNACK 2) and by the admin API
 * (400): 1 to 128 bytes of UTF-8, none of the characters above, no leading '$' (reserved for
 * system topics [MQTT-4.7.2-1]), and in Unicode normalization form C, so that two clientIds that
 * look the same (a precomposed 'é' and 'e' + U+0301) cannot both exist. A clientId is a topic
 * level of $EDC/{account}/{clientId}/: nothing acceptable can widen or escape that namespace.
 */
export function isAcceptableClientId(clientId: string): boolean {
  if (clientId.length === 0 || clientId.startsWith('$')) return false;
  if (refusedCharacter.test(clientId)) return false;
  if (Buffer.byteLength(clientId, 'utf8') > maxClientIdBytes) return false;
  return clientId.normalize('NFC') === clientId;
}

/** True when a topic name contains a wildcard; such publishes are always refused [MQTT-3.3.2-2]. */
export function hasWildcard(topic: string): boolean {
  return topic.includes('+') || topic.includes('#');
}
