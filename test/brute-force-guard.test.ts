import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { BruteForceGuard } from '../broker/brute-force-guard.ts';

describe('brute-force guard', () => {
  function guardAt(time: { now: number }) {
    return new BruteForceGuard({ failureLimit: 3, lockoutMs: 60_000, baseDelayMs: 100, now: () => time.now });
  }

  it('slows each refusal down a little more', () => {
    const guard = guardAt({ now: 0 });
    assert.equal(guard.recordFailure(['client:a']).delayMs, 100);
    assert.equal(guard.recordFailure(['client:a']).delayMs, 200);
  });

  it('locks a clientId out at the limit, until the lock-out ends', () => {
    const time = { now: 0 };
    const guard = guardAt(time);
    guard.recordFailure(['client:a']);
    guard.recordFailure(['client:a']);
    assert.equal(guard.recordFailure(['client:a']).lockedOut, true);
    assert.equal(guard.lockedForSeconds(['client:a']), 60);
    assert.equal(guard.lockedForSeconds(['client:b']), 0);
    time.now = 60_001;
    assert.equal(guard.lockedForSeconds(['client:a']), 0);
  });

  it('gives a source address ten times the limit, since devices share NATs', () => {
    const guard = guardAt({ now: 0 });
    for (let i = 0; i < 29; i += 1) assert.equal(guard.recordFailure([`address:10.0.0.1`]).lockedOut, false);
    assert.equal(guard.recordFailure(['address:10.0.0.1']).lockedOut, true);
  });

  it('forgets a clientId\'s failures after a success, but not an address\'s', () => {
    const guard = guardAt({ now: 0 });
    guard.recordFailure(['client:a', 'address:x']);
    guard.recordFailure(['client:a', 'address:x']);
    guard.recordSuccess('client:a');
    assert.equal(guard.recordFailure(['client:a']).delayMs, 100);
  });
});
