import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { runDevice } from '../agent-sim/device-agent.ts';
import { createAccountAndRequest, startTestPlatform, type CreatedRequest, type TestPlatform } from './support/platform-fixture.ts';
import { newSimulatedDevice } from './support/simulated-device.ts';
import {
  connectPacket,
  mutate,
  openSocket,
  oversizedHeader,
  retainedBytes,
  sendAndLinger,
  sessionPacket,
  truncate,
  type Target,
} from './support/fuzz-mqtt-packets.ts';
import { randomBytesFrom, randomInt, seededRandom } from './support/security-kit.ts';

/**
 * Malformed MQTT on both provision listeners (TCP and TLS): a fixed, seeded set of cases, a few at
 * a time. The broker must stay up, give the memory back, and keep provisioning well-behaved devices.
 */
const cases = 300;
const parallel = 10;
const lingerMs = 150;
const seed = 0x5eed_0007;

async function provisionOne(fixture: TestPlatform, clientId: string): Promise<void> {
  const request = await createAccountAndRequest(fixture, clientId, { generateActivationKey: true });
  const state = await newSimulatedDevice(fixture, request, { timeout: 15_000, 'retry-max-attempts': 5, 'retry-interval': 500 });
  const result = await runDevice(state);
  assert.equal(result.status, 'online', result.status === 'failed' ? result.reason : result.status);
  if (result.status === 'online') await result.accountClient.endAsync();
}

describe('fuzzing the MQTT listeners', () => {
  let fixture: TestPlatform;
  let fuzzDevice: CreatedRequest;
  let targets: Target[];

  before(async () => {
    fixture = await startTestPlatform({ logLevel: 'warn', authFailureLimit: 1000 });
    fuzzDevice = await createAccountAndRequest(fixture, 'fz-auth');
    targets = [
      { transport: 'tcp', port: fixture.platform.provisionBroker.mqttPort!, ca: fixture.rootPem },
      { transport: 'tls', port: fixture.platform.provisionBroker.mqttsPort, ca: fixture.rootPem },
    ];
  });
  after(() => fixture.close());

  function fuzzCase(next: () => number, index: number): Buffer {
    const stranger = { clientId: `fz-${index}`, username: 'u', password: 'p' };
    const valid = connectPacket(fuzzDevice);
    switch (index % 6) {
      case 0:
        return randomBytesFrom(next, 1 + randomInt(next, 512));
      case 1:
        return truncate(next, connectPacket(stranger));
      case 2:
        return mutate(next, connectPacket(next() < 0.5 ? stranger : fuzzDevice));
      case 3: // after a successful CONNECT: mutated session packets
        return Buffer.concat([valid, ...Array.from({ length: 1 + randomInt(next, 4) }, () => mutate(next, sessionPacket(next, fuzzDevice.clientId)))]);
      case 4: // after a successful CONNECT: truncated packets, or noise
        return Buffer.concat([valid, next() < 0.5 ? truncate(next, sessionPacket(next, fuzzDevice.clientId)) : randomBytesFrom(next, 1 + randomInt(next, 256))]);
      default: // a header announcing far more than will ever come, with a little of it
        return Buffer.concat([
          next() < 0.5 ? Buffer.alloc(0) : valid,
          oversizedHeader(next() < 0.5 ? 'connect' : 'publish', 1_000_000 + randomInt(next, 268_000_000)),
          randomBytesFrom(next, randomInt(next, 2048)),
        ]);
    }
  }

  it(`survives ${cases} malformed inputs over TCP and TLS, gives memory back, and provisions devices during and after`, { timeout: 120_000 }, async () => {
    await provisionOne(fixture, 'fz-warmup'); // warm every code path before measuring
    const baseline = retainedBytes();
    const next = seededRandom(seed);
    const inputs = Array.from({ length: cases }, (_, index) => fuzzCase(next, index));
    const startedAt = Date.now();

    const during = provisionOne(fixture, 'fz-during');
    for (let start = 0; start < cases; start += parallel) {
      await Promise.all(inputs.slice(start, start + parallel).map((bytes, offset) => sendAndLinger(targets[(start + offset) % 2]!, bytes, lingerMs)));
    }
    const fuzzSeconds = (Date.now() - startedAt) / 1000;
    await during;
    assert.ok(fuzzSeconds < 60, `fuzzing took ${fuzzSeconds} s`);

    await provisionOne(fixture, 'fz-after');
    const grownBy = retainedBytes() - baseline;
    assert.ok(grownBy < 32 * 1024 * 1024, `retained memory grew by ${(grownBy / 1048576).toFixed(1)} MiB`);
    assert.equal((await fixture.api('GET', '/accounts')).status, 200, 'the admin API still answers');
  });

  // aedes has no packet size limit of its own: mqtt-packet buffers a packet until it has all the
  // bytes its header announces (up to 256 MiB). broker/listeners.ts closes such a connection first.
  for (const variant of ['before CONNECT', 'after a successful CONNECT'] as const) {
    for (const transport of ['tcp', 'tls'] as const) {
      it(`closes a connection announcing a 200 MB packet ${variant} (${transport}) before buffering it`, { timeout: 60_000 }, async () => {
        const target = targets.find((candidate) => candidate.transport === transport)!;
        const before = retainedBytes();
        const sockets = 3;
        const results = await Promise.all(Array.from({ length: sockets }, () => floodOversized(target, variant === 'before CONNECT' ? null : connectPacket(fuzzDevice))));
        for (const result of results) {
          assert.equal(result.closedByServer, true, `the broker kept reading after ${(result.written / 1048576).toFixed(1)} MiB`);
        }
        const grownBy = retainedBytes() - before;
        assert.ok(grownBy < 32 * 1024 * 1024, `retained memory grew by ${(grownBy / 1048576).toFixed(1)} MiB`);
      });
    }
  }
});

/**
 * Announces a 200,000,000-byte PUBLISH and streams zeros (up to 48 MiB): a broker that buffers it
 * keeps reading; one that guards its memory closes the connection almost at once.
 */
function floodOversized(target: Target, prefix: Buffer | null): Promise<{ closedByServer: boolean; written: number }> {
  const cap = 48 * 1024 * 1024;
  const chunk = Buffer.alloc(64 * 1024);
  return new Promise((resolve) => {
    const socket = openSocket(target);
    let written = 0;
    let closed = false;
    let settled = false;
    const finish = (closedByServer: boolean): void => {
      if (settled) return;
      settled = true;
      clearTimeout(guard);
      socket.destroy();
      resolve({ closedByServer, written });
    };
    const guard = setTimeout(() => finish(false), 30_000);
    socket.on('error', () => {
      closed = true;
      finish(true);
    });
    socket.on('close', () => {
      closed = true;
      finish(true);
    });
    socket.on('data', () => undefined);
    const pump = (): void => {
      while (!closed && written < cap) {
        written += chunk.length;
        if (!socket.write(chunk)) {
          socket.once('drain', pump);
          return;
        }
      }
      // Everything sent and the connection still up: give the broker a moment to close it anyway.
      if (!closed) setTimeout(() => finish(closed), 3_000);
    };
    socket.once(target.transport === 'tls' ? 'secureConnect' : 'connect', () => {
      if (prefix) socket.write(prefix);
      socket.write(oversizedHeader('publish', 200_000_000));
      pump();
    });
  });
}
