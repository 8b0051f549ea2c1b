import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { connect as tcpConnect } from 'node:net';
import { MqttClient, type IClientOptions } from 'mqtt';
import { connackOf, createAccountAndRequest, startTestPlatform, type CreatedRequest, type TestPlatform } from './support/platform-fixture.ts';

/**
 * The brute-force lock-out over real sockets (broker/brute-force-guard.ts, docs/SECURITY.md). On
 * Linux every 127.x.y.z is loopback, so a client bound to 127.0.0.2 is another source address for
 * the broker listening on 127.0.0.1. Each test uses its own address; the real device connects
 * from 127.0.0.1.
 */

/** mqtt.js over TCP to the provision broker from `localAddress` (mqtt.js has no such option: our own stream). */
function connectFrom(fixture: TestPlatform, localAddress: string, options: IClientOptions): Promise<MqttClient> {
  const port = fixture.platform.provisionBroker.mqttPort!;
  const client = new MqttClient(() => tcpConnect({ host: '127.0.0.1', port, localAddress }), {
    protocolVersion: 4,
    reconnectPeriod: 0,
    connectTimeout: 10_000,
    ...options,
  });
  return new Promise((resolve, reject) => {
    client.once('connect', () => resolve(client));
    client.once('error', (error) => {
      client.end(true);
      reject(error);
    });
  });
}

const credentialsOf = (request: CreatedRequest) => ({ clientId: request.clientId, username: request.username, password: request.password });

/** The guard's clock (PlatformOptions.guardClock): the wall clock, plus whatever a test skipped. */
function skippableClock(): { now: () => number; skip(ms: number): void } {
  let skippedMs = 0;
  return {
    now: () => Date.now() + skippedMs,
    skip: (ms) => {
      skippedMs += ms;
    },
  };
}

describe('provision broker: brute-force lock-out', () => {
  const pairLimit = 3;
  const addressLimit = 30; // = 10 × pairLimit, also the guard's default when not given one
  const lockoutSeconds = 300;
  const clock = skippableClock();
  let fixture: TestPlatform;
  before(async () => {
    fixture = await startTestPlatform(
      { authFailureLimit: pairLimit, authAddressFailureLimit: addressLimit, authLockoutSeconds: lockoutSeconds },
      { guardClock: clock.now },
    );
  });
  after(() => fixture.close());

  it('Should not let an attacker elsewhere lock the real device out: only its own (clientId, address) pair is locked', async () => {
    const request = await createAccountAndRequest(fixture, 'lock-victim');
    const other = await createAccountAndRequest(fixture, 'lock-other');
    for (let i = 0; i < pairLimit; i += 1) {
      assert.equal(await connackOf(connectFrom(fixture, '127.0.0.2', { ...credentialsOf(request), password: `guess-${i}` })), 4);
    }
    assert.equal(await connackOf(connectFrom(fixture, '127.0.0.2', credentialsOf(request))), 5, 'the attacker pair is locked, right password or not');
    assert.equal(await connackOf(fixture.connectProvision({ tcp: true, ...credentialsOf(request) })), 0, 'the device at 127.0.0.1, over TCP');
    assert.equal(await connackOf(fixture.connectProvision(credentialsOf(request))), 0, 'and over TLS');
    assert.equal(await connackOf(connectFrom(fixture, '127.0.0.2', credentialsOf(other))), 0, 'the address itself is not locked');
    assert.match(fixture.logText(), /now locked out: clientId from this address/);
  });

  it('locks a clientId out of one address after the failure limit, right password included, until the lock-out ends', async () => {
    const request = await createAccountAndRequest(fixture, 'lock-pair');
    for (let i = 0; i < pairLimit; i += 1) {
      assert.equal(await connackOf(connectFrom(fixture, '127.0.0.3', { ...credentialsOf(request), password: `guess-${i}` })), 4);
    }
    assert.equal(await connackOf(connectFrom(fixture, '127.0.0.3', credentialsOf(request))), 5);
    clock.skip((lockoutSeconds - 5) * 1000);
    assert.equal(await connackOf(connectFrom(fixture, '127.0.0.3', credentialsOf(request))), 5, '5 s before the lock-out ends');
    clock.skip(5_000);
    assert.equal(await connackOf(connectFrom(fixture, '127.0.0.3', credentialsOf(request))), 0, 'once it has ended');
  });

  it('locks out an address trying many clientIds, for every clientId, and only that address', async () => {
    const request = await createAccountAndRequest(fixture, 'lock-scanned');
    for (let i = 0; i < addressLimit; i += 1) {
      assert.equal(await connackOf(connectFrom(fixture, '127.0.0.4', { clientId: `scan-${i}`, username: `scan-${i}`, password: 'guess' })), 4, `scan ${i}`);
    }
    assert.equal(await connackOf(connectFrom(fixture, '127.0.0.4', credentialsOf(request))), 5, 'a real device behind the scanner address too');
    assert.equal(await connackOf(connectFrom(fixture, '127.0.0.5', credentialsOf(request))), 0, 'another address');
    assert.match(fixture.logText(), /now locked out: address/);
  });

  it('audits a locked-out CONNECT with its reason', async () => {
    const events = await fixture.api<{ items: { type: string; detail: { code?: string } }[] }>('GET', '/audit-events?clientId=lock-pair');
    assert.ok(events.body.items.some((event) => event.type === 'connect.refused' && event.detail.code === 'CONNECT_LOCKED_OUT'));
  });
});

describe('provision broker: PROVISIO_AUTH_ADDRESS_FAILURE_LIMIT', () => {
  let fixture: TestPlatform;
  before(async () => {
    fixture = await startTestPlatform({ authFailureLimit: 1000, authAddressFailureLimit: 5, authLockoutSeconds: 60 });
  });
  after(() => fixture.close());

  it('locks an address out at the configured limit, not at ten times the pair limit', async () => {
    for (let i = 0; i < 5; i += 1) {
      assert.equal(await connackOf(connectFrom(fixture, '127.0.0.6', { clientId: `limit-${i}`, username: 'u', password: 'p' })), 4);
    }
    assert.equal(await connackOf(connectFrom(fixture, '127.0.0.6', { clientId: 'limit-next', username: 'u', password: 'p' })), 5);
  });

  it("Should not let a device's success from an address reset that address's count: the failures before it still count", async () => {
    const request = await createAccountAndRequest(fixture, 'nat-device');
    const scan = (i: number) => connackOf(connectFrom(fixture, '127.0.0.7', { clientId: `nat-scan-${i}`, username: 'u', password: 'p' }));
    for (let i = 0; i < 3; i += 1) assert.equal(await scan(i), 4, `scan ${i}`);
    assert.equal(await connackOf(connectFrom(fixture, '127.0.0.7', credentialsOf(request))), 0, 'the device behind the same address');
    for (let i = 3; i < 5; i += 1) assert.equal(await scan(i), 4, `scan ${i}: the address's 4th and 5th failures`);
    assert.equal(await scan(5), 5, 'locked out at 5 failures: the 3 before the success counted');
  });
});
