import { existsSync, readFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { normalizeProvisioningCode, provisioningCodeUsername } from '../protocol/enrollment.ts';
import { UsageError, settingOverrides, toStart, type Values } from './cli-options.ts';
import { readCredentialsFile, type DeviceCredentials } from './credentials-source.ts';
import { readFactoryCredentials, readFactoryCredentialsDirectory, type FactoryCredentials, type FactoryDevice } from './factory-credentials.ts';
import { randomMacLikeId, readProvisioningCodesFile } from './provisioning-codes.ts';
import { settingsFor, type AgentSettings } from './settings.ts';

/**
 * How a device meets the provision broker, from the command line: a password (a provision request
 * an operator made), its factory certificate (PROTOCOL.md §17) or a provisioning code (§18); and
 * cloud discovery (§19) for a device with a factory certificate. The bad combinations are usage
 * errors here, before any device runs.
 */

/** How a device proves who it is to the provision broker; printed on its first line. */
export type OnboardingMethod = 'password' | 'factory certificate' | 'provisioning code';

/** A device as the factory makes it: what DeviceState.initialise writes. */
export interface DeviceOnboarding {
  readonly settings: AgentSettings;
  readonly trustedRootPem: string;
  readonly factory?: FactoryCredentials;
}

/** --discovery-url: an https:// URL (discovery is mutual TLS, PROTOCOL.md §19). */
function checkDiscoveryUrl(url: string): void {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new UsageError(`--discovery-url ${url} is not a URL (https://host:port)`);
  }
  if (parsed.protocol !== 'https:') throw new UsageError(`--discovery-url ${url}: discovery is asked over mutual TLS, https://host:port`);
}

/** A device with a factory certificate connects over TLS only and names itself by its certificate. */
function checkFactoryCombination(values: Values, what: string): void {
  if (values.username !== undefined || values.password !== undefined)
    throw new UsageError(`${what} sends no user name or password: its certificate says who it is`);
  if (values['activation-key'] !== undefined) throw new UsageError(`${what}: the request made for it on the fly has no activation key`);
  const brokerUrl = values['broker-url'];
  if (brokerUrl !== undefined && brokerUrl.split(',').some((url) => !url.trim().startsWith('mqtts://'))) {
    throw new UsageError(`${what} needs mqtts:// provision brokers: a certificate is presented in the TLS handshake, not ${brokerUrl}`);
  }
}

/** The discovery checks of device and fleet: an https URL, and a factory certificate to ask with. */
function checkDiscovery(values: Values, withFactory: boolean, factoryOptions: string): void {
  const url = values['discovery-url'];
  if (url === undefined) return;
  checkDiscoveryUrl(url);
  if (!withFactory) throw new UsageError(`--discovery-url needs ${factoryOptions}: discovery knows a device by its factory certificate`);
}

/**
 * The device the command line makes (`device` with --password, --factory-cert/--factory-key or
 * --code), or null when it gives none of them: the device in the state directory runs as it is.
 */
export async function deviceOnboarding(values: Values, stateDir: string): Promise<DeviceOnboarding | null> {
  for (const fleetOption of ['credentials', 'factory-credentials-dir', 'codes-file'] as const) {
    if (values[fleetOption] !== undefined) throw new UsageError(`--${fleetOption} is for a fleet: agent-sim fleet --${fleetOption} …`);
  }
  const factoryGiven = values['factory-cert'] !== undefined || values['factory-key'] !== undefined;
  const ways = [values.password !== undefined, factoryGiven, values.code !== undefined].filter(Boolean).length;
  if (ways > 1) throw new UsageError('--password, --factory-cert/--factory-key and --code are three ways to meet the provision broker: give one');
  if (factoryGiven && (values['factory-cert'] === undefined || values['factory-key'] === undefined)) {
    throw new UsageError('--factory-cert and --factory-key go together: the certificate and its key');
  }
  if (ways === 0) {
    if (values['discovery-url'] !== undefined) throw new UsageError('--discovery-url is set when the device is made, with --factory-cert and --factory-key');
    return null;
  }
  checkDiscovery(values, factoryGiven, '--factory-cert and --factory-key');
  const rootCa = values['root-ca'];
  if (!rootCa) throw new UsageError('a new device needs --root-ca');
  const trustedRootPem = await toStart(readFile(rootCa, 'utf8'));
  const serial = values.serial ?? '0';

  if (factoryGiven) {
    checkFactoryCombination(values, 'a device with a factory certificate');
    const { clientId, factory } = await toStart(readFactoryCredentials(values['factory-cert']!, values['factory-key']!));
    if (values['client-id'] !== undefined && values['client-id'] !== clientId) {
      throw new UsageError(`--client-id ${values['client-id']}: a device with a factory certificate is its CN, ${clientId}`);
    }
    const settings = settingsFor({ mac: values.mac ?? clientId, serial, ...settingOverrides(values), password: '', username: '', 'client-id': clientId });
    return { settings, trustedRootPem, factory };
  }

  if (values.code !== undefined) {
    if (normalizeProvisioningCode(values.code) === null) throw new UsageError(`--code ${values.code}: a provisioning code is 12 digits (1234-5678-9012)`);
    if (values.username !== undefined) throw new UsageError(`--code: the user name is ${provisioningCodeUsername}, not ${values.username}`);
    if (values['activation-key'] !== undefined) throw new UsageError('--code: the request made for it on the fly has no activation key');
    // The device keeps its MAC: made again with a new code, it is the same device.
    const earlier = existsSync(join(stateDir, 'settings.json'))
      ? (JSON.parse(readFileSync(join(stateDir, 'settings.json'), 'utf8')) as Partial<AgentSettings>)
      : undefined;
    const mac = values.mac ?? earlier?.mac ?? randomMacLikeId();
    const clientId = values['client-id'] ?? (values.mac === undefined ? (earlier?.['client-id'] ?? mac) : undefined);
    const settings = settingsFor({
      mac,
      serial,
      ...settingOverrides(values),
      ...(clientId !== undefined ? { 'client-id': clientId } : {}),
      username: provisioningCodeUsername,
      password: values.code,
    });
    return { settings, trustedRootPem };
  }

  const settings = settingsFor({ mac: values.mac ?? values['client-id'] ?? '', serial, password: values.password!, ...settingOverrides(values) });
  return { settings, trustedRootPem };
}

/** How the device in a state directory meets the provision broker. */
export function onboardingMethod(settings: AgentSettings, factory: FactoryCredentials | null): OnboardingMethod {
  if (factory) return 'factory certificate';
  return settings.username === provisioningCodeUsername ? 'provisioning code' : 'password';
}

/**
 * A fleet's devices, from exactly one of --credentials (the admin API's CSV or JSON of provision
 * requests), --factory-credentials-dir (DIR/{clientId}.crt and .key) or --codes-file (the admin
 * API's provisioning codes, one device each).
 */
export async function fleetDevices(values: Values): Promise<readonly (DeviceCredentials | FactoryDevice)[]> {
  if (values['factory-cert'] !== undefined || values['factory-key'] !== undefined) {
    throw new UsageError('a fleet takes its factory certificates from --factory-credentials-dir DIR ({clientId}.crt and {clientId}.key)');
  }
  if (values.code !== undefined) throw new UsageError('a fleet takes its provisioning codes from --codes-file FILE (one device per code)');
  const sources = (['credentials', 'factory-credentials-dir', 'codes-file'] as const).filter((name) => values[name] !== undefined);
  if (sources.length !== 1) throw new UsageError('fleet needs one of --credentials, --factory-credentials-dir and --codes-file');
  checkDiscovery(values, sources[0] === 'factory-credentials-dir', '--factory-credentials-dir');
  if (sources[0] === 'factory-credentials-dir') {
    checkFactoryCombination(values, 'a fleet with factory certificates');
    return toStart(readFactoryCredentialsDirectory(values['factory-credentials-dir']!));
  }
  if (sources[0] === 'codes-file') return toStart(readProvisioningCodesFile(values['codes-file']!));
  return toStart(readCredentialsFile(values.credentials!));
}
