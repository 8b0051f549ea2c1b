import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { BruteForceGuard, type BruteForceGuardOptions } from '../broker/brute-force-guard.ts';

const device = { clientId: 'a', address: '10.0.0.1' };
const attacker = { clientId: 'a', address: '10.0.0.66' };

describe('brute-force guard', () => {
  function guardAt(time: { now: number }, options: Partial<BruteForceGuardOptions> = {}) {
    return new BruteForceGuard({ failureLimit: 3, addressFailureLimit: 30, lockoutMs: 60_000, baseDelayMs: 100, now: () => time.now, ...options });
  }

  /** The platform's defaults: PROVISIO_AUTH_FAILURE_LIMIT 10, _ADDRESS_FAILURE_LIMIT 100, _LOCKOUT_SECONDS 300, _FAILURE_DELAY_MS 200. */
  function defaultGuard(time: { now: number }) {
    return new BruteForceGuard({ failureLimit: 10, addressFailureLimit: 100, lockoutMs: 300_000, baseDelayMs: 200, now: () => time.now });
  }

  it('slows each refusal down with the failures of the clientId from any address, up to 5 s', () => {
    const guard = guardAt({ now: 0 }, { failureLimit: 1000, addressFailureLimit: 1000, baseDelayMs: 1000 });
    assert.equal(guard.recordFailure(device).delayMs, 1000);
    assert.equal(guard.recordFailure(attacker).delayMs, 2000);
    assert.equal(guard.recordFailure({ clientId: 'a', address: '10.0.0.67' }).delayMs, 3000);
    assert.equal(guard.recordFailure({ clientId: 'b', address: '10.0.0.66' }).delayMs, 1000);
    for (let i = 0; i < 5; i += 1) guard.recordFailure(attacker);
    assert.equal(guard.recordFailure(attacker).delayMs, 5000);
  });

  it('locks a (clientId, address) pair out at the limit, until the lock-out ends', () => {
    const time = { now: 0 };
    const guard = guardAt(time);
    assert.deepEqual(guard.recordFailure(attacker).lockedOut, []);
    assert.deepEqual(guard.recordFailure(attacker).lockedOut, []);
    assert.deepEqual(guard.recordFailure(attacker).lockedOut, ['pair']);
    assert.equal(guard.lockedForSeconds(attacker), 60);
    time.now = 60_001;
    assert.equal(guard.lockedForSeconds(attacker), 0);
  });

  it('Should not lock the real device out when someone elsewhere fails with its clientId', () => {
    const guard = guardAt({ now: 0 });
    for (let i = 0; i < 10; i += 1) guard.recordFailure(attacker);
    assert.ok(guard.lockedForSeconds(attacker) > 0);
    assert.equal(guard.lockedForSeconds(device), 0);
    assert.equal(guard.lockedForSeconds({ clientId: 'b', address: attacker.address }), 0, 'other clientIds from that address');
  });

  it('locks a source address out after its own limit of failures, whatever the clientIds', () => {
    const guard = guardAt({ now: 0 });
    for (let i = 0; i < 29; i += 1) assert.deepEqual(guard.recordFailure({ clientId: `scan-${i}`, address: '10.0.0.9' }).lockedOut, []);
    assert.deepEqual(guard.recordFailure({ clientId: 'scan-29', address: '10.0.0.9' }).lockedOut, ['address']);
    assert.equal(guard.lockedForSeconds({ clientId: 'never-tried', address: '10.0.0.9' }), 60);
    assert.equal(guard.lockedForSeconds({ clientId: 'scan-0', address: '10.0.0.10' }), 0);
  });

  it("forgets the pair's and the clientId's failures after a success, but not the address's", () => {
    const guard = guardAt({ now: 0 }, { addressFailureLimit: 5 });
    guard.recordFailure(device);
    guard.recordFailure(device);
    guard.recordFailure(attacker);
    guard.recordSuccess(device); // the device's address keeps its 2 failures
    assert.equal(guard.recordFailure(device).delayMs, 100, 'clientId delay count cleared');
    guard.recordFailure(device);
    assert.equal(guard.lockedForSeconds(device), 0, 'pair count was cleared: 2 of 3');
    const neighbour = { clientId: 'other', address: device.address };
    assert.equal(guard.lockedForSeconds(neighbour), 0, 'the address holds 4 failures of 5');
    assert.deepEqual(guard.recordFailure(neighbour).lockedOut, ['address'], 'the 2 failures before the success still count: 2 + 2 + 1');
    assert.equal(guard.lockedForSeconds(neighbour), 60, 'another clientId from that address is locked out');
    assert.equal(guard.lockedForSeconds(device), 60, 'and so is the device that succeeded');
  });

  it("Should not let a device's success from an address reset that address's count (a scanner behind the same NAT)", () => {
    const guard = guardAt({ now: 0 }, { addressFailureLimit: 5 });
    for (let i = 0; i < 4; i += 1) assert.deepEqual(guard.recordFailure({ clientId: `scan-${i}`, address: device.address }).lockedOut, []);
    guard.recordSuccess(device);
    assert.deepEqual(guard.recordFailure({ clientId: 'scan-4', address: device.address }).lockedOut, ['address'], 'the fifth failure from the address');
    assert.equal(guard.lockedForSeconds({ clientId: 'scan-5', address: device.address }), 60);
  });

  it('leaks one failure every window / limit', () => {
    const time = { now: 0 };
    const guard = guardAt(time, { windowMs: 300_000 }); // limit 3: one failure leaks every 100 s
    guard.recordFailure(attacker);
    guard.recordFailure(attacker);
    time.now = 99_999;
    assert.deepEqual(guard.recordFailure(attacker).lockedOut, ['pair'], 'nothing leaked yet');
    time.now += 60_000; // lock-out over; the full bucket leaked one failure
    assert.equal(guard.lockedForSeconds(attacker), 0);
    assert.deepEqual(guard.recordFailure(attacker).lockedOut, ['pair'], 'a lock-out does not empty the bucket: one more try, not three');

    const other = { clientId: 'b', address: '10.0.0.2' };
    time.now = 1_000_000;
    guard.recordFailure(other);
    guard.recordFailure(other);
    time.now += 200_000; // both leaked
    guard.recordFailure(other);
    guard.recordFailure(other);
    assert.equal(guard.lockedForSeconds(other), 0);
  });

  it('never locks out a device retrying CONNACK 4 with the documented back-off (10 s doubling to 300 s), over 2 hours', () => {
    const time = { now: 0 };
    const guard = defaultGuard(time);
    let waitMs = 10_000;
    let failures = 0;
    while (time.now <= 2 * 3_600_000) {
      assert.equal(guard.lockedForSeconds(device), 0, `locked out after ${failures} failures, at ${time.now / 1000} s`);
      assert.deepEqual(guard.recordFailure(device).lockedOut, [], `at ${time.now / 1000} s`);
      failures += 1;
      time.now += waitMs;
      waitMs = Math.min(waitMs * 2, 300_000);
    }
    assert.ok(failures > 25, `${failures} failures simulated`);
  });

  it('locks out a client retrying every second at its 10th failure', () => {
    const time = { now: 0 };
    const guard = defaultGuard(time);
    for (let i = 1; i <= 9; i += 1) {
      assert.deepEqual(guard.recordFailure(device).lockedOut, [], `failure ${i}`);
      time.now += 1_000;
      assert.equal(guard.lockedForSeconds(device), 0);
    }
    assert.deepEqual(guard.recordFailure(device).lockedOut, ['pair']);
    assert.equal(guard.lockedForSeconds(device), 300);
  });

  it('forgets buckets that have leaked empty once it holds many', () => {
    const time = { now: 0 };
    const guard = guardAt(time, { failureLimit: 1000, addressFailureLimit: 100_000 });
    for (let i = 0; i < 10_001; i += 1) guard.recordFailure({ clientId: `c-${i}`, address: 'x' });
    const firstWave = guard.size; // pairs, clientIds and the address: none has leaked yet
    time.now = 24 * 3_600_000;
    // The threshold doubles with what survived a prune (amortised cost); a second wave passes it.
    for (let i = 0; i < 10_010; i += 1) guard.recordFailure({ clientId: `d-${i}`, address: 'y' });
    assert.ok(guard.size <= firstWave + 20, `${guard.size} buckets held: the first wave, leaked empty, was forgotten`);
  });
});
