import { deviceNamespace, hasWildcard } from '../protocol/topics.ts';

/**
 * Who may use which topics, Kapua's device ACL: a device owns `$EDC/{account}/{clientId}/#`
 * (and on the account broker also `{account}/{clientId}/#`), nothing else. The platform's
 * internal workers may use everything. clientIds are checked at CONNECT to hold no '/', '+',
 * '#' or leading '$', so a prefix test cannot be widened by the clientId itself.
 */
export type BrokerPrincipal =
  { readonly kind: 'device'; readonly account: string; readonly clientId: string; readonly namespaces: readonly string[] } | { readonly kind: 'internal' };

export function deviceNamespacesOnProvisionBroker(provisioningAccount: string, clientId: string): string[] {
  return [`${deviceNamespace(provisioningAccount, clientId)}/`];
}

export function deviceNamespacesOnAccountBroker(account: string, clientId: string): string[] {
  return [`${deviceNamespace(account, clientId)}/`, `${account}/${clientId}/`];
}

function insideNamespaces(topic: string, namespaces: readonly string[]): boolean {
  return namespaces.some((prefix) => topic.startsWith(prefix) && topic.length > prefix.length);
}

export function mayPublish(principal: BrokerPrincipal, topic: string): boolean {
  if (hasWildcard(topic)) return false; // [MQTT-3.3.2-2]
  if (principal.kind === 'internal') return true;
  return insideNamespaces(topic, principal.namespaces);
}

export function maySubscribe(principal: BrokerPrincipal, filter: string): boolean {
  if (principal.kind === 'internal') return true;
  // '#' or '+' before the end of the prefix would reach other devices: the prefix must match literally.
  return insideNamespaces(filter, principal.namespaces) && !filter.startsWith('$share/');
}
