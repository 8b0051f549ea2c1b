import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import type { TestContext } from 'node:test';
import { PlatformError } from '../../errors/platform-error.ts';
import type { ErrorCode } from '../../errors/catalogue.ts';
import type { NewAccount, NewCertificate, NewProvisionRequest, ProvisionStore } from '../../store/types.ts';

/** What a backend's test file hands the contract suite: a fresh, empty store per call. */
export interface OpenedStore {
  readonly store: ProvisionStore;
  /** Another handle on the same data, as a second worker or a restarted process opens it. The caller closes it. */
  openAnother(): Promise<ProvisionStore>;
  /** Closes what is still open and removes the data. */
  cleanup(): Promise<void>;
}

export type OpenStore = () => Promise<OpenedStore>;

/** Opens a fresh store for one test and cleans it up when the test ends. */
export type FreshStore = (t: TestContext) => Promise<OpenedStore>;

export function freshStoreFrom(open: OpenStore): FreshStore {
  return async (t) => {
    const opened = await open();
    t.after(() => opened.cleanup());
    return opened;
  };
}

export function uniqueName(kind: string): string {
  return `${kind}-${randomUUID().slice(0, 8)}`;
}

export function newAccount(overrides: Partial<NewAccount> = {}): NewAccount {
  return {
    name: uniqueName('account'),
    brokerUrl: 'mqtts://broker.example:8884',
    configurationTemplate: { broker: '${brokerUrl}', client: { id: '${clientId}' } },
    defaultBundleIds: ['bundle-a', 'bundle-b'],
    ...overrides,
  };
}

const day = 24 * 60 * 60 * 1000;

export function newRequest(accountId: string, overrides: Partial<NewProvisionRequest> = {}): NewProvisionRequest {
  const now = Date.now();
  return {
    accountId,
    clientId: uniqueName('device'),
    username: uniqueName('user'),
    passwordHash: 'scrypt$512$8$1$c2FsdA$aGFzaA',
    activationKeyHash: null,
    activatesOn: now - 1000,
    expiresOn: now + 7 * day,
    retryMaxAttempts: 3,
    overwriteIfDuplicate: false,
    status: 'ENABLED',
    configurationId: null,
    bundleIds: [],
    createdBy: 'admin',
    ...overrides,
  };
}

export function newCertificate(accountId: string, overrides: Partial<NewCertificate> = {}): NewCertificate {
  const now = Date.now();
  return {
    serial: randomUUID().replace(/-/g, ''),
    accountId,
    clientId: uniqueName('device'),
    provisionRequestId: null,
    pem: '-----BEGIN CERTIFICATE-----\nTUlJQg==\n-----END CERTIFICATE-----\n',
    notBefore: now - 60_000,
    notAfter: now + 365 * day,
    ...overrides,
  };
}

/** Asserts that the promise rejects with a PlatformError of this code (and detail, when given). */
export async function rejectsWith(promise: Promise<unknown>, code: ErrorCode, detail?: string): Promise<void> {
  await assert.rejects(promise, (error: unknown) => {
    assert.ok(error instanceof PlatformError, `expected a PlatformError ${code}, got ${String(error)}`);
    assert.equal(error.code, code, `expected ${code}, got ${error.code}: ${error.message}`);
    if (detail !== undefined) assert.equal(error.detail, detail);
    return true;
  });
}

/** Waits until the clock has moved past now, so the next record gets a later createdOn. */
export async function nextMillisecond(): Promise<number> {
  const start = Date.now();
  while (Date.now() <= start) await new Promise((resolve) => setTimeout(resolve, 1));
  return Date.now();
}

/** The order the store lists in: createdOn, then id. */
export function inStoreOrder<T extends { createdOn: number; id: string }>(items: readonly T[]): T[] {
  return [...items].sort((a, b) => a.createdOn - b.createdOn || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
}

export function ids(items: readonly { id: string }[]): string[] {
  return items.map((item) => item.id);
}
