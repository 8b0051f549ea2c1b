import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type AddressInfo, type Server } from 'node:net';
import { Aedes, type Client } from 'aedes';
import { connectAsync, type MqttClient } from 'mqtt';
import { PrincipalRegistry } from '../broker/aedes-hooks.ts';
import { SessionTerminator, type SessionPrincipal } from '../broker/session-terminator.ts';
import { openStore } from '../store/open-store.ts';
import type { ProvisionStore } from '../store/types.ts';
import { removeTemporaryDirectories, silentLog, temporaryDirectory } from './support/ca-test-kit.ts';

/**
 * The terminator on a real aedes broker and real MQTT connections, with an authentication step
 * the test holds open: the race the platform's brokers can only lose by bad timing. A CONNECT
 * whose credentials were checked before a revocation arrived, but which registers after it, is
 * closed as it registers; one checked after the notice is not.
 */

/** What the held authentication will answer for a clientId: the account device with serial 'aa'. */
const principalOf = (clientId: string): SessionPrincipal => ({
  kind: 'device',
  account: 'acme',
  clientId,
  namespaces: [`acme/${clientId}/`],
  accountId: 'acc-1',
  certificateSerial: 'aa',
});

describe('session terminator: a CONNECT racing a revocation', () => {
  let broker: Aedes;
  let server: Server;
  let store: ProvisionStore;
  let terminator: SessionTerminator;
  /** Authentications waiting for the test to let them finish, by clientId. */
  const held = new Map<string, () => void>();
  const started = new Map<string, () => void>();
  const clients: MqttClient[] = [];

  before(async () => {
    store = await openStore({ dataDir: await temporaryDirectory('provisio-terminator-'), storeBackend: 'sqlite', redisUrl: '', redisKeyPrefix: '' });
    broker = await Aedes.createBroker({ connectTimeout: 5000 });
    const principals = new PrincipalRegistry<SessionPrincipal>();
    broker.authenticate = (client: Client, _username, _password, done) => {
      const checkedAt = performance.now();
      const finish = (): void => {
        principals.set(client, principalOf(client.id), checkedAt);
        done(null, true);
      };
      if (!client.id.startsWith('held-')) return finish();
      held.set(client.id, finish);
      started.get(client.id)?.();
    };
    terminator = new SessionTerminator({ broker: 'account', aedes: broker, principals, store, log: silentLog });
    server = createServer(broker.handle);
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  });
  after(async () => {
    await Promise.all(clients.map((client) => client.endAsync(true)));
    await new Promise<void>((resolve) => server.close(() => resolve()));
    await new Promise<void>((resolve) => broker.close(() => resolve()));
    await store.close();
    await removeTemporaryDirectories();
  });

  const url = (): string => `mqtt://127.0.0.1:${(server.address() as AddressInfo).port}`;

  /** Starts a CONNECT and resolves once the broker is inside its (held) authentication. */
  async function connectHeld(clientId: string): Promise<{ connected: Promise<MqttClient>; release: () => void }> {
    const inside = new Promise<void>((resolve) => started.set(clientId, resolve));
    const connected = connectAsync(url(), { clientId, protocolVersion: 4, reconnectPeriod: 0 });
    connected.then(
      (client) => clients.push(client),
      () => undefined,
    );
    await inside;
    return { connected, release: () => held.get(clientId)!() };
  }

  function closeOf(client: MqttClient, what: string): Promise<void> {
    return new Promise((resolve, reject) => {
      if (!client.connected) return resolve();
      const timer = setTimeout(() => reject(new Error(`${what}: still connected`)), 5000);
      client.once('close', () => {
        clearTimeout(timer);
        resolve();
      });
    });
  }

  it('closes a session checked before the notice that registers after it', async () => {
    const attempt = await connectHeld('held-1');
    // The revocation arrives while the CONNECT is being authenticated: nothing to close yet.
    assert.equal(await terminator.end({ kind: 'certificate', clientId: 'held-1', serial: 'aa', cause: 'revoked' }), 0);
    attempt.release();
    const client = await attempt.connected;
    await closeOf(client, 'late session');
    assert.ok(await waitForAudit(store, 'held-1'), 'audited');
  });

  it('leaves a session whose credentials were checked after the notice, and sessions it does not name', async () => {
    const bystander = await connectAsync(url(), { clientId: 'other-1', protocolVersion: 4, reconnectPeriod: 0 });
    clients.push(bystander);
    assert.equal(await terminator.end({ kind: 'certificate', clientId: 'held-2', serial: 'aa', cause: 'revoked' }), 0);
    const attempt = await connectHeld('held-2');
    attempt.release();
    const client = await attempt.connected;
    await client.publishAsync('acme/held-2/x', 'served', { qos: 1 });
    assert.ok(client.connected, 'checked after the notice: the store already said so, so it passed on its own merits');
    // A notice for another serial of the same clientId names nothing here.
    assert.equal(await terminator.end({ kind: 'certificate', clientId: 'held-2', serial: 'bb', cause: 'revoked' }), 0);
    await bystander.publishAsync('acme/other-1/x', 'served', { qos: 1 });
    // And an account notice ends both.
    const closing = [closeOf(client, 'held-2'), closeOf(bystander, 'other-1')];
    assert.equal(await terminator.end({ kind: 'account', accountId: 'acc-1', cause: 'deleted' }), 2);
    await Promise.all(closing);
  });
});

/** The audit event is written after the close, without being waited for. */
async function waitForAudit(store: ProvisionStore, clientId: string): Promise<boolean> {
  const deadline = Date.now() + 5000;
  while (Date.now() < deadline) {
    if ((await store.listAudit({ clientId, type: 'session.ended' })).items.length > 0) return true;
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  return false;
}
