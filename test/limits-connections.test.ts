import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { Socket } from 'node:net';
import type { ConnectionOptions } from 'node:tls';
import { setTimeout as sleep } from 'node:timers/promises';
import type { MqttClient } from 'mqtt';
import { closedWith, connectBytes, logEntries, mqttFrom, tcpFrom, tlsFrom } from './support/connections-from.ts';
import { createAccountAndRequest, startTestPlatform, type TestPlatform } from './support/platform-fixture.ts';
import { eventually, provisionDevice, type ProvisionedDevice } from './support/security-kit.ts';

/**
 * Issue 12 §3, sockets per address: 2,000 half-open connections from one address were all held,
 * TLS ones for 60–125 s. Now every MQTT listener (provision TCP, provision TLS, account mutual TLS)
 * holds at most PROVISIO_MQTT_CONNECTIONS_PER_ADDRESS connections per source address and closes
 * the next one at once, and closes a connection whose CONNECT is not answered within
 * PROVISIO_MQTT_CONNECT_TIMEOUT_MS of its TCP accept, TLS handshake included.
 */

interface Target {
  readonly name: string;
  readonly port: number;
  /** Opens a connection from `address` that the broker answers at MQTT level (CONNACK). */
  completes(address: string): Promise<MqttClient>;
  /** TLS options for a handshake that succeeds; null for plain TCP. */
  readonly tls: ConnectionOptions | null;
}

type Credentials = { clientId: string; username: string; password: string };

/** The three listeners; each provision listener with its own request (one clientId on both would take over the other's session). */
async function targetsOf(fixture: TestPlatform, device: ProvisionedDevice, prefix: string): Promise<Target[]> {
  const credentialsOf = async (clientId: string): Promise<Credentials> => {
    const request = await createAccountAndRequest(fixture, clientId);
    return { clientId, username: request.username, password: request.password };
  };
  const [overTcp, overTls] = await Promise.all([credentialsOf(`${prefix}-tcp`), credentialsOf(`${prefix}-tls`)]);
  const { provisionBroker, accountBroker } = fixture.platform;
  const accountTls = { ca: fixture.rootPem, cert: device.certPem, key: device.keyPem };
  return [
    {
      name: 'provision broker over TCP',
      port: provisionBroker.mqttPort!,
      tls: null,
      completes: (address) => mqttFrom(provisionBroker.mqttPort!, address, overTcp),
    },
    {
      name: 'provision broker over TLS',
      port: provisionBroker.mqttsPort,
      tls: { ca: fixture.rootPem },
      completes: (address) => mqttFrom(provisionBroker.mqttsPort, address, { ...overTls, tls: { ca: fixture.rootPem } }),
    },
    {
      name: 'account broker (mutual TLS)',
      port: accountBroker.mqttsPort,
      tls: accountTls,
      completes: (address) => mqttFrom(accountBroker.mqttsPort, address, { clientId: device.request.clientId, tls: accountTls }),
    },
  ];
}

function open(target: Target, address: string): Promise<Socket> {
  return target.tls ? tlsFrom(target.port, address, target.tls) : tcpFrom(target.port, address);
}

describe('MQTT listeners: connections per source address', () => {
  const perAddress = 3;
  let fixture: TestPlatform;
  let targets: Target[];

  before(async () => {
    // A long connect deadline: the connections held here must not be closed by it meanwhile.
    fixture = await startTestPlatform({ mqttConnectionsPerAddress: perAddress, mqttConnectTimeoutMs: 60_000 });
    targets = await targetsOf(fixture, await provisionDevice(fixture, 'limits-conn-dev'), 'limits-conn');
  });
  after(() => fixture.close());

  for (const index of [0, 1, 2]) {
    it(`Should close the connection over the limit from 127.0.0.2 at once, while 127.0.0.3 still connects (${['provision TCP', 'provision TLS', 'account'][index]})`, async () => {
      const target = targets[index]!;
      const held = await Promise.all(Array.from({ length: perAddress }, () => open(target, '127.0.0.2')));
      const heldClosed = held.map((socket) => closedWith(socket));
      try {
        // Over the limit: closed before any byte is answered, whatever it sends (plain TCP here, even on the TLS ports).
        const extras = await Promise.all(Array.from({ length: 4 }, () => tcpFrom(target.port, '127.0.0.2')));
        for (const extra of extras) extra.write(connectBytes('limits-over'));
        const received = await Promise.all(extras.map((extra) => closedWith(extra)));
        assert.deepEqual(
          received.map((bytes) => bytes.length),
          [0, 0, 0, 0],
          'nothing answered to a refused connection',
        );
        assert.ok(
          held.every((socket) => !socket.destroyed),
          `${target.name}: the ${perAddress} connections held are still open`,
        );

        // Another address is not affected.
        const other = await target.completes('127.0.0.3');
        await other.endAsync();

        // One refusal burst, one log line (the count comes when the burst ends).
        const refusals = logEntries(fixture.logText(), 'connection refused: too many open connections from this address').filter(
          (entry) => entry['address'] === '127.0.0.2' && entry['port'] === target.port && entry['count'] === undefined,
        );
        assert.equal(refusals.length, 1, 'logged once for the burst');
        assert.equal(refusals[0]!['limit'], perAddress);

        // A closed connection frees its place.
        held[0]!.destroy();
        await heldClosed[0];
        const again = await eventually(
          () => target.completes('127.0.0.2').catch(() => null),
          (client) => client !== null,
          'a connection from 127.0.0.2 once one of its connections closed',
        );
        await again!.endAsync();
      } finally {
        for (const socket of held) socket.destroy();
        await Promise.all(heldClosed);
      }
    });
  }
});

describe('MQTT listeners: the time to CONNECT', () => {
  const timeoutMs = 1_500;
  let fixture: TestPlatform;
  let targets: Target[];

  before(async () => {
    fixture = await startTestPlatform({ mqttConnectTimeoutMs: timeoutMs });
    targets = await targetsOf(fixture, await provisionDevice(fixture, 'limits-time-dev'), 'limits-time');
  });
  after(() => fixture.close());

  /** Connects from `address`, does `stall` (sends a little, or nothing), and says after how long the broker closed it. */
  async function closedAfter(address: string, connect: () => Promise<Socket>, stall: (socket: Socket) => void): Promise<number> {
    const started = Date.now();
    const socket = await connect();
    const closed = closedWith(socket);
    stall(socket);
    await Promise.race([closed, sleep(timeoutMs + 10_000).then(() => assert.fail(`${address}: still open`))]);
    return Date.now() - started;
  }

  it('Should close a connection that sends nothing, part of a CONNECT, part of a ClientHello, or a TLS handshake and no CONNECT, on every listener', async () => {
    const [provisionTcp, provisionTls, account] = targets as [Target, Target, Target];
    // A TLS record header and the start of a ClientHello, then silence.
    const partialClientHello = Buffer.from('16030100c8010000c40303', 'hex');
    const cases: [string, string, () => Promise<Socket>, (socket: Socket) => void][] = [
      ['provision TCP, nothing', '127.0.0.10', () => tcpFrom(provisionTcp.port, '127.0.0.10'), () => undefined],
      [
        'provision TCP, half a CONNECT',
        '127.0.0.11',
        () => tcpFrom(provisionTcp.port, '127.0.0.11'),
        (socket) => socket.write(connectBytes('limits-half').subarray(0, 9)),
      ],
      ['provision TLS, nothing', '127.0.0.12', () => tcpFrom(provisionTls.port, '127.0.0.12'), () => undefined],
      ['provision TLS, part of a ClientHello', '127.0.0.13', () => tcpFrom(provisionTls.port, '127.0.0.13'), (socket) => socket.write(partialClientHello)],
      ['provision TLS, handshake and no CONNECT', '127.0.0.14', () => open(provisionTls, '127.0.0.14'), () => undefined],
      ['account, nothing', '127.0.0.15', () => tcpFrom(account.port, '127.0.0.15'), () => undefined],
      ['account, part of a ClientHello', '127.0.0.16', () => tcpFrom(account.port, '127.0.0.16'), (socket) => socket.write(partialClientHello)],
      ['account, handshake with a valid certificate and no CONNECT', '127.0.0.17', () => open(account, '127.0.0.17'), () => undefined],
    ];
    // Devices that did CONNECT in time are not touched by the deadline.
    const connected = await Promise.all(targets.map((target) => target.completes('127.0.0.18')));
    const elapsed = await Promise.all(cases.map(([, address, connect, stall]) => closedAfter(address, connect, stall)));
    for (const [i, [name]] of cases.entries()) {
      assert.ok(elapsed[i]! >= timeoutMs - 50, `${name}: closed after ${elapsed[i]} ms, before the ${timeoutMs} ms allowed`);
    }
    for (const [i, client] of connected.entries()) {
      assert.ok(client.connected, `${targets[i]!.name}: a device that sent CONNECT in time stays connected`);
      await client.subscribeAsync(['$EDC/provisioning/limits-time-tcp/x', '$EDC/provisioning/limits-time-tls/x', '$EDC/acme/limits-time-dev/x'][i]!, {
        qos: 1,
      });
    }
    await Promise.all(connected.map((client) => client.endAsync()));

    const expiries = logEntries(fixture.logText(), 'connection closed: no CONNECT answered in time');
    for (const [name, address] of cases) {
      assert.equal(expiries.filter((entry) => entry['address'] === address).length, 1, `${name}: logged once`);
    }
  });

  it('logs a burst of expiries from one address once, not per socket', async () => {
    const sockets = await Promise.all(Array.from({ length: 6 }, () => tcpFrom(targets[0]!.port, '127.0.0.20')));
    await Promise.all(sockets.map((socket) => closedWith(socket)));
    const expiries = logEntries(fixture.logText(), 'connection closed: no CONNECT answered in time').filter((entry) => entry['address'] === '127.0.0.20');
    assert.equal(expiries.length, 1);
  });
});
