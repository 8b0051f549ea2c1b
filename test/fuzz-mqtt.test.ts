import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { runDevice } from '../agent-sim/device-agent.ts';
import { createAccountAndRequest, startTestPlatform, type CreatedRequest, type TestPlatform } from './support/platform-fixture.ts';
import { newSimulatedDevice } from './support/simulated-device.ts';
import {
  connectPacket,
  mutate,
  oversizedHeader,
  retainedBytes,
  sendAndLinger,
  serverPackets,
  sessionPacket,
  truncate,
  watchedSocket,
  type Exchange,
  type Target,
} from './support/fuzz-mqtt-packets.ts';
import { randomBytesFrom, randomInt, seededRandom } from './support/security-kit.ts';

/**
 * Malformed MQTT on both provision listeners (TCP and TLS): a fixed, seeded set of cases, a few at
 * a time. The broker must stay up, give the memory back, and keep provisioning well-behaved devices;
 * what it writes back to each case is whole server packets, never more bytes than it was sent, and
 * no accepting CONNACK to anything but the fuzz device's own CONNECT.
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

  /** One malformed input; `fuzzDeviceConnect`: it starts with the fuzz device's CONNECT, whole or mutated (else no CONNECT may be accepted). */
  function fuzzCase(next: () => number, index: number): { bytes: Buffer; kind: string; fuzzDeviceConnect: boolean } {
    const stranger = { clientId: `fz-${index}`, username: 'u', password: 'p' };
    const valid = connectPacket(fuzzDevice);
    switch (index % 7) {
      case 0:
        return { kind: 'noise', bytes: randomBytesFrom(next, 1 + randomInt(next, 512)), fuzzDeviceConnect: false };
      case 1:
        return { kind: 'truncated CONNECT', bytes: truncate(next, connectPacket(stranger)), fuzzDeviceConnect: false };
      case 2: {
        const ofFuzzDevice = next() < 0.5;
        return { kind: 'mutated CONNECT', bytes: mutate(next, connectPacket(ofFuzzDevice ? fuzzDevice : stranger)), fuzzDeviceConnect: ofFuzzDevice };
      }
      case 3: // after a successful CONNECT: mutated session packets
        return {
          kind: 'CONNECT, mutated packets',
          bytes: Buffer.concat([valid, ...Array.from({ length: 1 + randomInt(next, 4) }, () => mutate(next, sessionPacket(next, fuzzDevice.clientId)))]),
          fuzzDeviceConnect: true,
        };
      case 4: // after a successful CONNECT: truncated packets, or noise
        return {
          kind: 'CONNECT, truncated packet or noise',
          bytes: Buffer.concat([
            valid,
            next() < 0.5 ? truncate(next, sessionPacket(next, fuzzDevice.clientId)) : randomBytesFrom(next, 1 + randomInt(next, 256)),
          ]),
          fuzzDeviceConnect: true,
        };
      case 5: // well-formed, pipelined: none of it may be answered but the refusal
        return {
          kind: "a stranger's CONNECT, then session packets",
          bytes: Buffer.concat([connectPacket(stranger), ...Array.from({ length: 1 + randomInt(next, 4) }, () => sessionPacket(next, stranger.clientId))]),
          fuzzDeviceConnect: false,
        };
      default: {
        // a header announcing far more than will ever come, with a little of it
        const prefix = next() < 0.5 ? Buffer.alloc(0) : valid;
        return {
          kind: 'oversized header',
          bytes: Buffer.concat([
            prefix,
            oversizedHeader(next() < 0.5 ? 'connect' : 'publish', 1_000_000 + randomInt(next, 268_000_000)),
            randomBytesFrom(next, randomInt(next, 2048)),
          ]),
          fuzzDeviceConnect: prefix.length > 0,
        };
      }
    }
  }

  it(`survives ${cases} malformed inputs over TCP and TLS, gives memory back, and provisions devices during and after`, { timeout: 120_000 }, async () => {
    await provisionOne(fixture, 'fz-warmup'); // warm every code path before measuring
    const baseline = retainedBytes();
    const next = seededRandom(seed);
    const inputs = Array.from({ length: cases }, (_, index) => fuzzCase(next, index));
    const startedAt = Date.now();

    const during = provisionOne(fixture, 'fz-during');
    const exchanges: Exchange[] = [];
    for (let start = 0; start < cases; start += parallel) {
      const batch = inputs.slice(start, start + parallel);
      exchanges.push(...(await Promise.all(batch.map((input, offset) => sendAndLinger(targets[(start + offset) % 2]!, input.bytes, lingerMs)))));
    }
    const fuzzSeconds = (Date.now() - startedAt) / 1000;
    await during;
    exchanges.forEach((exchange, index) => {
      const input = inputs[index]!;
      const what = `case ${index} (${input.kind}, ${targets[index % 2]!.transport}): ${JSON.stringify(exchange.ending)}, ${exchange.received.length} bytes back`;
      assert.notEqual(exchange.ending.by, 'client', `${what}: failed on our side, so it says nothing of the broker`);
      const { packets, problem } = serverPackets(exchange.received);
      assert.equal(problem, null, `${what}: ${exchange.received.toString('hex')}`);
      // No amplification: a CONNACK or an acknowledgement is never longer than what it answers.
      assert.ok(exchange.received.length <= input.bytes.length, `${what}, more than the ${input.bytes.length} sent`);
      const accepted = packets.some((packet) => packet.cmd === 'connack' && packet.returnCode === 0);
      if (!input.fuzzDeviceConnect) {
        assert.ok(!accepted && packets.length <= 1, `${what}: without a valid CONNECT, at most a refusing CONNACK`);
      }
    });
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
        const results = await Promise.all(
          Array.from({ length: sockets }, () => floodOversized(target, variant === 'before CONNECT' ? null : connectPacket(fuzzDevice))),
        );
        for (const result of results) {
          const sent = `after ${(result.written / 1048576).toFixed(1)} MiB sent`;
          assert.equal(result.ending.by, 'server', `the connection was not closed by the broker ${sent}: ${JSON.stringify(result.ending)}`);
          const { packets, problem } = serverPackets(result.received);
          assert.equal(problem, null, `what the broker wrote back: ${result.received.toString('hex')}`);
          // Before CONNECT nothing; after it at most its CONNACK 0 (the guard may close first).
          const expected = variant === 'before CONNECT' ? [] : packets.length === 0 ? [] : ['connack 0'];
          assert.deepEqual(
            packets.map((packet) => `${packet.cmd}${'returnCode' in packet ? ` ${packet.returnCode}` : ''}`),
            expected,
            `the broker wrote back ${result.received.length} bytes ${sent}`,
          );
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
async function floodOversized(target: Target, prefix: Buffer | null): Promise<Exchange & { written: number }> {
  const cap = 48 * 1024 * 1024;
  const chunk = Buffer.alloc(64 * 1024);
  const { socket, ended, stop } = watchedSocket(target);
  let written = 0;
  const guard = setTimeout(stop, 30_000);
  const pump = (): void => {
    while (!socket.destroyed && written < cap) {
      written += chunk.length;
      if (!socket.write(chunk)) {
        socket.once('drain', pump);
        return;
      }
    }
    // Everything sent and the connection still up: give the broker a moment to close it anyway.
    if (!socket.destroyed) setTimeout(stop, 3_000);
  };
  socket.once(target.transport === 'tls' ? 'secureConnect' : 'connect', () => {
    if (prefix) socket.write(prefix);
    socket.write(oversizedHeader('publish', 200_000_000));
    pump();
  });
  const exchange = await ended;
  clearTimeout(guard);
  return { ...exchange, written };
}
