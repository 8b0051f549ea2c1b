/**
 * Test helper for the zero-touch broker tests (test/zero-touch-broker*.test.ts): records made
 * directly through the store (manufacturer CAs, enrollment groups, provisioning codes), devices
 * that connect with a factory certificate or a code over real TLS sockets with mqtt.js, and the
 * PROV-V1 exchange a device goes through (provision request, completion report).
 */
import { X509Certificate } from 'node:crypto';
import type { IClientOptions, MqttClient } from 'mqtt';
import { provisioningCodeHash, provisioningCodeKeys, type ProvisioningCodeKeys } from '../../crypto/provisioning-code-hash.ts';
import { createLogger } from '../../log/logger.ts';
import { openPlatformSecrets } from '../../platform/platform-secrets.ts';
import { decodeProvisionResult, type ProvisionResult } from '../../protocol/messages.ts';
import type { EnrollmentGroup, ManufacturerCa, NewEnrollmentGroup, ProvisioningCode } from '../../store/enrollment-types.ts';
import type { ProvisionStore } from '../../store/types.ts';
import { listenForReplies, reportCompletion, requestProvisioning } from './device-exchange.ts';
import type { FactoryCredentials, ManufacturerCaKit } from './factory-certificates.ts';
import { connackOf, type TestPlatform } from './platform-fixture.ts';

/** An account (with these categories) made over the admin API; its id. */
export async function createAccount(fixture: TestPlatform, name: string, categories: readonly string[] = []): Promise<string> {
  const created = await fixture.api<{ id: string }>('POST', '/accounts', { name });
  if (created.status !== 201) throw new Error(`account not created: ${created.status} ${JSON.stringify(created.body)}`);
  for (const category of categories) {
    const made = await fixture.api('POST', '/categories', { accountId: created.body.id, name: category });
    if (made.status !== 201) throw new Error(`category not created: ${made.status} ${JSON.stringify(made.body)}`);
  }
  return created.body.id;
}

/** Registers the maker's CA as the API would: its PEM, fingerprint, subject and end. */
export function registerManufacturerCa(store: ProvisionStore, kit: ManufacturerCaKit, enabled = true): Promise<ManufacturerCa> {
  const certificate = new X509Certificate(kit.certPem);
  return store.createManufacturerCa({
    name: kit.name,
    pem: kit.certPem,
    fingerprintSha256: certificate.fingerprint256.replaceAll(':', '').toLowerCase(),
    subject: certificate.subject,
    notAfter: Date.parse(certificate.validTo),
    enabled,
  });
}

/** An enrollment group: enabled, open, no lists, no reprovisioning, unless `fields` say otherwise. */
export function createGroup(
  store: ProvisionStore,
  fields: Pick<NewEnrollmentGroup, 'name' | 'accountId' | 'manufacturerCaId'> & Partial<NewEnrollmentGroup>,
): Promise<EnrollmentGroup> {
  return store.createEnrollmentGroup({
    category: null,
    configurationId: null,
    bundleIds: [],
    tags: [],
    allowSerials: [],
    allowClientIds: [],
    denySerials: [],
    denyClientIds: [],
    validFrom: null,
    validUntil: null,
    reprovisionAllowed: false,
    provisionBrokerUrl: null,
    enabled: true,
    ...fields,
  });
}

/** The platform's code hash keys, read from its secrets file as every process does. */
export async function codeKeysOf(fixture: TestPlatform): Promise<ProvisioningCodeKeys> {
  const secrets = await openPlatformSecrets(fixture.config, fixture.platform.store, createLogger('silent'));
  return provisioningCodeKeys(secrets.deviceKey);
}

/** A provisioning code made as the API makes one: its digits (to type) and its record (hash only). */
export async function createCode(
  store: ProvisionStore,
  keys: ProvisioningCodeKeys,
  options: { accountId: string; category?: string | null; expiresOn?: number; digits?: string },
): Promise<{ digits: string; record: ProvisioningCode }> {
  const digits = options.digits ?? Array.from({ length: 12 }, () => Math.floor(Math.random() * 10)).join('');
  const [record] = await store.createProvisioningCodes([
    {
      accountId: options.accountId,
      category: options.category ?? null,
      codeHash: provisioningCodeHash(keys.current, digits),
      createdBy: 'test',
      expiresOn: options.expiresOn ?? Date.now() + 86_400_000,
    },
  ]);
  return { digits, record: record! };
}

/** mqtt.js over TLS to the provision broker with the factory certificate as client certificate, no password. */
export function connectFactory(fixture: TestPlatform, device: FactoryCredentials, options: IClientOptions = {}): Promise<MqttClient> {
  return fixture.connectProvision({ clientId: device.clientId, cert: device.certPem, key: device.keyPem, ...options });
}

/** The CONNACK code of a factory certificate's CONNECT (0 when accepted; the connection is closed). */
export function factoryConnack(fixture: TestPlatform, device: FactoryCredentials, options: IClientOptions = {}): Promise<number> {
  return connackOf(connectFactory(fixture, device, options));
}

/** The code of the last "CONNECT refused" line logged for clientId since `from` (pino JSON lines). */
export function refusalLogged(fixture: TestPlatform, clientId: string, from = 0): { code?: string; reason?: string } | undefined {
  let found: { code?: string; reason?: string } | undefined;
  for (const line of fixture.logText().slice(from).split('\n')) {
    if (!line.includes('CONNECT refused')) continue;
    const entry = JSON.parse(line) as { msg?: string; clientId?: string; code?: string; reason?: string };
    if (entry.msg === 'CONNECT refused' && entry.clientId === clientId) found = entry;
  }
  return found;
}

/**
 * The PROV-V1 exchange of a connected device (PROTOCOL.md §3–§9), over its own connection: a
 * provision request without a CSR (TLS: the platform makes the key), then, unless told not to, the
 * completion report. Throws on any reply but 200.
 */
export async function provisionOver(client: MqttClient, clientId: string, requestId: string, options: { complete?: boolean } = {}): Promise<ProvisionResult> {
  const replyTo = await listenForReplies(client, clientId);
  await requestProvisioning(client, clientId, requestId);
  const reply = await replyTo(requestId);
  if (reply.responseCode !== 200 || !reply.body) throw new Error(`provision reply ${reply.responseCode}: ${reply.message ?? ''}`);
  const result = decodeProvisionResult(reply.body);
  if (options.complete === false) return result;
  await reportCompletion(client, clientId, `${requestId}-done`, requestId, result.configuration.sha256);
  const completed = await replyTo(`${requestId}-done`);
  if (completed.responseCode !== 200) throw new Error(`completion reply ${completed.responseCode}: ${completed.message ?? ''}`);
  return result;
}

/** Resolves when the connection closes (the broker ended the session), or rejects after `timeoutMs`. */
export function closed(client: MqttClient, timeoutMs = 5_000): Promise<void> {
  return new Promise((resolve, reject) => {
    if (!client.connected) return resolve();
    const timer = setTimeout(() => reject(new Error(`the session of ${client.options.clientId} was not ended within ${timeoutMs} ms`)), timeoutMs);
    client.once('close', () => {
      clearTimeout(timer);
      resolve();
    });
  });
}
