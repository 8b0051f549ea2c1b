import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { ProvisioningCodeKeys } from '../crypto/provisioning-code-hash.ts';
import { startProvisioningCodeSweep } from '../platform/provisioning-code-sweep.ts';
import { formatProvisioningCode, provisioningCodeUsername } from '../protocol/enrollment.ts';
import { enrollmentCreator } from '../store/enrollment-rules.ts';
import { createLogger } from '../log/logger.ts';
import { connackOf, startTestPlatform, type TestPlatform } from './support/platform-fixture.ts';
import { codeKeysOf, createAccount, createCode, provisionOver, refusalLogged } from './support/zero-touch-kit.ts';

/**
 * Provisioning codes on the provision broker (issue 18, docs/PROTOCOL.md §18): real TLS sockets and
 * mqtt.js clients; codes made through the store with the platform's own code key, as the API makes them.
 */

/** A code CONNECT: user name provisioning-code, the code as password. */
const withCode = (clientId: string, code: string) => ({ clientId, username: provisioningCodeUsername, password: code });

describe('provision broker: provisioning codes', () => {
  let fixture: TestPlatform;
  let keys: ProvisioningCodeKeys;
  let accountId: string;
  /** Every code given to a device here, to look for in the logs and the audit log at the end. */
  const typed: string[] = [];

  before(async () => {
    fixture = await startTestPlatform({ authFailureLimit: 1000, authAddressFailureLimit: 10_000, provisioningCodeFailuresPerMinute: 1000 });
    keys = await codeKeysOf(fixture);
    accountId = await createAccount(fixture, 'zt-codes', ['kiosks']);
  });
  after(() => fixture.close());

  async function newCode(options: { category?: string | null; expiresOn?: number } = {}) {
    const code = await createCode(fixture.platform.store, keys, { accountId, category: 'kiosks', ...options });
    typed.push(code.digits, formatProvisioningCode(code.digits));
    return code;
  }

  /** CONNACK `code` to a code CONNECT, and the refusal logged with `errorCode`. */
  async function expectRefused(clientId: string, typedCode: string, code: number, errorCode: string): Promise<void> {
    const from = fixture.logText().length;
    assert.equal(await connackOf(fixture.connectProvision(withCode(clientId, typedCode))), code, `CONNACK to ${clientId}`);
    assert.equal(refusalLogged(fixture, clientId, from)?.code, errorCode);
  }

  it("provisions a device with a right code (typed as shown) into the code's account and category; the code is bound, then REGISTERED and refused", async () => {
    const store = fixture.platform.store;
    const { digits, record } = await newCode();
    const clientId = '0200005e0001';
    const client = await fixture.connectProvision(withCode(clientId, formatProvisioningCode(digits)));
    try {
      const bound = await store.getProvisioningCode(record.id);
      assert.equal(bound?.clientId, clientId);
      assert.equal(bound?.status, 'PENDING');
      const result = await provisionOver(client, clientId, 'pc-req-1');
      assert.equal(result.account, 'zt-codes');
    } finally {
      await client.endAsync();
    }
    const request = (await store.listProvisionRequests({ accountId, clientIds: [clientId] })).items[0]!;
    assert.equal(request.createdBy, enrollmentCreator.code(record.id));
    assert.equal(request.category, 'kiosks');
    assert.equal(request.username, provisioningCodeUsername);
    assert.equal(request.jobStatus, 'COMPLETED');
    assert.equal((await store.getDevice(accountId, clientId))?.category, 'kiosks');
    const registered = await store.getProvisioningCode(record.id);
    assert.equal(registered?.status, 'REGISTERED');
    assert.equal(registered?.codeHash, null);
    assert.equal(registered?.provisionRequestId, request.id);
    assert.ok(registered?.registeredOn);
    const audited = await store.listAudit({ clientId, type: 'provisioning-code.registered' });
    assert.deepEqual(audited.items[0]?.detail, { codeId: record.id });
    await expectRefused(clientId, digits, 4, 'CONNECT_BAD_CREDENTIALS');
  });

  it('binds a code to the first clientId: another clientId with the same code gets CONNACK 4, the first one continues its request', async () => {
    const { digits } = await newCode();
    const first = await fixture.connectProvision(withCode('zt-code-first', digits));
    await first.endAsync();
    await expectRefused('zt-code-second', digits, 4, 'CONNECT_BAD_CREDENTIALS');
    assert.equal(await fixture.platform.store.findEnabledProvisionRequest('zt-code-second'), null);
    const made = await fixture.platform.store.findEnabledProvisionRequest('zt-code-first');
    const again = await fixture.connectProvision(withCode('zt-code-first', digits));
    try {
      await provisionOver(again, 'zt-code-first', 'bind-1');
    } finally {
      await again.endAsync();
    }
    assert.equal((await fixture.platform.store.getProvisionRequest(made!.id))?.jobStatus, 'COMPLETED');
  });

  it('refuses with CONNACK 4 an expired code, an unknown one and what is not 12 digits; the sweep deletes the expired one', async () => {
    const store = fixture.platform.store;
    const expired = await newCode({ expiresOn: Date.now() - 1_000 });
    await expectRefused('zt-code-expired', expired.digits, 4, 'CONNECT_BAD_CREDENTIALS');
    await expectRefused('zt-code-unknown', '000000000000', 4, 'CONNECT_BAD_CREDENTIALS');
    await expectRefused('zt-code-short', '1234-5678', 4, 'CONNECT_BAD_CREDENTIALS');
    const sweep = startProvisioningCodeSweep(store, createLogger('silent'), 20);
    try {
      for (let i = 0; i < 100 && (await store.getProvisioningCode(expired.record.id)) !== null; i += 1) await new Promise((resolve) => setTimeout(resolve, 20));
    } finally {
      await sweep.close();
    }
    assert.equal(await store.getProvisioningCode(expired.record.id), null);
  });

  it('gives a device reset with a new code its completed request again, in the new code’s category', async () => {
    const store = fixture.platform.store;
    await fixture.api('POST', '/categories', { accountId, name: 'lobby' });
    const clientId = 'zt-code-reset';
    const first = await newCode();
    const client = await fixture.connectProvision(withCode(clientId, first.digits));
    try {
      await provisionOver(client, clientId, 'reset-1');
    } finally {
      await client.endAsync();
    }
    const second = await newCode({ category: 'lobby' });
    const again = await fixture.connectProvision(withCode(clientId, second.digits));
    try {
      await provisionOver(again, clientId, 'reset-2');
    } finally {
      await again.endAsync();
    }
    const requests = await store.listProvisionRequests({ accountId, clientIds: [clientId] });
    assert.equal(requests.items.length, 1);
    assert.equal(requests.items[0]!.createdBy, enrollmentCreator.code(second.record.id));
    assert.equal(requests.items[0]!.category, 'lobby');
    assert.equal(requests.items[0]!.jobStatus, 'COMPLETED');
    assert.equal((await store.getProvisioningCode(second.record.id))?.status, 'REGISTERED');
    assert.equal((await store.getDevice(accountId, clientId))?.category, 'lobby');
  });

  it('refuses a right code with CONNACK 5 ENROLLMENT_REFUSED while another enabled request holds the clientId; the code stays unbound', async () => {
    const holder = await fixture.api('POST', '/provision-requests', { accountId, clientId: 'zt-code-held' });
    assert.equal(holder.status, 201);
    const { digits, record } = await newCode();
    await expectRefused('zt-code-held', digits, 5, 'ENROLLMENT_REFUSED');
    assert.equal((await fixture.platform.store.getProvisioningCode(record.id))?.clientId, null);
  });

  it('never writes a code to the log or the audit log', async () => {
    assert.ok(typed.length > 0);
    const audit = JSON.stringify((await fixture.platform.store.listAudit({ limit: 1000 })).items);
    const logs = fixture.logText();
    for (const code of typed) {
      assert.ok(!logs.includes(code), `the log holds a code`);
      assert.ok(!audit.includes(code), `the audit log holds a code`);
    }
  });
});

/** The guard's clock (PlatformOptions.guardClock), also the budget's: the wall clock plus what a test skipped. */
function skippableClock(): { now: () => number; skip(ms: number): void } {
  let skippedMs = 0;
  return { now: () => Date.now() + skippedMs, skip: (ms) => void (skippedMs += ms) };
}

describe('provision broker: guessing provisioning codes', () => {
  it('locks an address that guesses out (CONNACK 5), a right code too, until the lock-out ends', async () => {
    const clock = skippableClock();
    const fixture = await startTestPlatform({ authFailureLimit: 1000, authAddressFailureLimit: 5, authLockoutSeconds: 60 }, { guardClock: clock.now });
    try {
      const keys = await codeKeysOf(fixture);
      const accountId = await createAccount(fixture, 'zt-guess');
      const { digits } = await createCode(fixture.platform.store, keys, { accountId });
      for (let i = 0; i < 5; i += 1) {
        assert.equal(await connackOf(fixture.connectProvision(withCode(`zt-guess-${i}`, `10000000000${i}`))), 4, `guess ${i}`);
      }
      const from = fixture.logText().length;
      assert.equal(await connackOf(fixture.connectProvision(withCode('zt-guess-right', digits))), 5);
      assert.equal(refusalLogged(fixture, 'zt-guess-right', from)?.code, 'CONNECT_LOCKED_OUT');
      clock.skip(61_000);
      assert.equal(await connackOf(fixture.connectProvision(withCode('zt-guess-right', digits))), 0);
    } finally {
      await fixture.close();
    }
  });

  it('refuses every code CONNECT with CONNACK 5 while the budget of wrong codes is spent, a right code too, whatever the address counts', async () => {
    const clock = skippableClock();
    const perMinute = 3;
    const fixture = await startTestPlatform(
      { authFailureLimit: 1000, authAddressFailureLimit: 10_000, provisioningCodeFailuresPerMinute: perMinute },
      { guardClock: clock.now },
    );
    try {
      const keys = await codeKeysOf(fixture);
      const accountId = await createAccount(fixture, 'zt-budget');
      const { digits } = await createCode(fixture.platform.store, keys, { accountId });
      for (let i = 0; i < perMinute; i += 1) {
        assert.equal(await connackOf(fixture.connectProvision(withCode(`zt-budget-${i}`, `20000000000${i}`))), 4, `guess ${i}`);
      }
      const from = fixture.logText().length;
      assert.equal(await connackOf(fixture.connectProvision(withCode('zt-budget-right', digits))), 5);
      const logged = refusalLogged(fixture, 'zt-budget-right', from);
      assert.equal(logged?.code, 'CONNECT_LOCKED_OUT');
      assert.match(logged?.reason ?? '', /budget of wrong provisioning codes/);
      // Password devices are not concerned.
      const request = await fixture.api<{ credentials: { username: string; password: string } }>('POST', '/provision-requests', {
        accountId,
        clientId: 'zt-budget-password',
      });
      const { username, password } = request.body.credentials;
      assert.equal(await connackOf(fixture.connectProvision({ clientId: 'zt-budget-password', username, password })), 0);
      // One failure's worth of refill (60 s / perMinute) lets the next code in.
      clock.skip(60_000 / perMinute + 100);
      assert.equal(await connackOf(fixture.connectProvision(withCode('zt-budget-right', digits))), 0);
      assert.ok(!fixture.logText().includes(digits));
    } finally {
      await fixture.close();
    }
  });
});
