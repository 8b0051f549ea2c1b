import type { DeviceState } from './device-state.ts';
import { askDiscovery, discoverAssignment, DiscoveryError, type DiscoveryAssignment } from './discovery-client.ts';
import type { FactoryCredentials } from './factory-credentials.ts';
import { StoppedError } from './mqtt-waits.ts';
import type { AgentSettings } from './settings.ts';
import { clientCertificateTls } from './tls-contexts.ts';

/** What the device says about discovery (its onStep 'discovery' lines): the lines tests and operators wait for. */
export type DiscoveryNote = (detail: string) => void;

export type ProvisionBrokerChoice =
  { readonly status: 'found'; readonly brokerUrl: string } | { readonly status: 'failed'; readonly reason: string } | { readonly status: 'stopped' };

/** "provision broker mqtts://…:8883 (group Line 3, account acme)" */
function describe(assignment: DiscoveryAssignment): string {
  const where = [
    ...(assignment.enrollmentGroup ? [`group ${assignment.enrollmentGroup.name}`] : []),
    ...(assignment.account ? [`account ${assignment.account}`] : []),
  ];
  return `${assignment.kind === 'provision' ? 'provision' : 'account'} broker ${assignment.brokerUrl}${where.length > 0 ? ` (${where.join(', ')})` : ''}`;
}

/**
 * First boot with `discovery-url` (PROTOCOL.md §19): asks discovery, presenting the factory
 * certificate and trusting the device's roots, which provision broker to go to; that URL replaces
 * `broker-url` for this provisioning (asked again at every first boot: an operator may have moved
 * the device meanwhile). Retried like provisioning (retry-interval, retry-max-attempts, or
 * without limit when `forever`); a refusal asking again cannot change ends it at once.
 */
export async function provisionBrokerFromDiscovery(
  state: DeviceState,
  settings: AgentSettings,
  factory: FactoryCredentials | null,
  options: {
    readonly forever: boolean;
    readonly signal?: AbortSignal;
    readonly sleep: (ms: number, signal?: AbortSignal) => Promise<void>;
    readonly note?: DiscoveryNote;
  },
): Promise<ProvisionBrokerChoice> {
  const url = settings['discovery-url']!;
  if (!factory) return { status: 'failed', reason: `discovery ${url}: the device holds no factory certificate to ask with` };
  options.note?.(`asking ${url}`);
  let assignment: DiscoveryAssignment;
  try {
    assignment = await discoverAssignment(url, clientCertificateTls(factory, await state.trustedRoot(), state.learntRoots()), {
      timeoutMs: settings.timeout,
      retryIntervalMs: settings['retry-interval'],
      maxAttempts: options.forever ? -1 : settings['retry-max-attempts'],
      sleep: options.sleep,
      ...(options.signal ? { signal: options.signal } : {}),
      onFailure: (reason, again) => options.note?.(`${reason}${again ? '; asking again' : ''}`),
    });
  } catch (error) {
    if (error instanceof StoppedError || options.signal?.aborted) return { status: 'stopped' };
    return { status: 'failed', reason: (error as Error).message };
  }
  options.note?.(describe(assignment));
  if (assignment.clientId !== settings['client-id']) {
    return { status: 'failed', reason: `discovery ${url} answered for clientId ${assignment.clientId}, not ${settings['client-id']}` };
  }
  if (assignment.kind === 'account') {
    // Only an operational certificate gets `account`; a device asking with its factory certificate has none to go there with.
    return {
      status: 'failed',
      reason: `discovery ${url}: the device belongs to account ${assignment.account ?? '?'} already (${assignment.brokerUrl}), but holds no operational certificate`,
    };
  }
  if (!assignment.brokerUrl.startsWith('mqtts://')) {
    return { status: 'failed', reason: `discovery ${url}: provision broker ${assignment.brokerUrl} is not mqtts://: a factory certificate needs TLS` };
  }
  return { status: 'found', brokerUrl: assignment.brokerUrl };
}

/**
 * A provisioned device with `discovery-url` asks once, presenting its operational certificate,
 * where its account broker is: an `account` answer naming another URL moves it there
 * (account.json). Any other outcome leaves account.json as it is: the account broker it knows
 * decides, and discovery being away must not keep a provisioned device offline.
 */
export async function followAccountBroker(state: DeviceState, settings: AgentSettings, signal?: AbortSignal, note?: DiscoveryNote): Promise<void> {
  const url = settings['discovery-url']!;
  const known = state.accountNext().brokerUrl;
  try {
    const credentials = await state.accountCredentials();
    const tls = clientCertificateTls({ certPem: credentials.certPem, keyPem: credentials.keyPem }, await state.trustedRoot(), state.learntRoots());
    const assignment = await askDiscovery(url, tls, settings.timeout, signal);
    if (assignment.kind !== 'account' || assignment.clientId !== credentials.next.clientId) {
      note?.(`${describe(assignment)} for ${assignment.clientId}: staying with account broker ${known}`);
    } else if (assignment.brokerUrl === known) {
      note?.(describe(assignment));
    } else {
      await state.moveAccountBroker(assignment.brokerUrl);
      note?.(`${describe(assignment)}: moved from ${known}`);
    }
  } catch (error) {
    if (error instanceof StoppedError) return;
    note?.(`${error instanceof DiscoveryError ? `discovery ${url}: ` : ''}${(error as Error).message}: staying with account broker ${known}`);
  }
}
