import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import type { PlatformConfig } from '../config/config.ts';
import type { ProvisionStore } from '../store/types.ts';
import { startApiFixture, type ApiFixture, type ApiResponse } from './support/api-fixture.ts';
import { startRedisOrSkip, type RedisServer } from '../dev-support/redis-server.ts';

/**
 * Who owns a clientId (docs/SECURITY.md, "Who owns a clientId"; issue 12 §1), on both store
 * backends. Account A ("acme") holds a clientId in each of the ways it can; a token of account B
 * ("globex") tries every way of claiming it and must get exactly the answer it gets for a clientId
 * its own account already uses, while A's records stay as they were. Reads tell B nothing either.
 * Only the admin moves a device; an account releases a clientId by deleting its requests and
 * revoking its certificates.
 */
const redis = await startRedisOrSkip();
after(() => redis?.stop());

const pem = '-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n';

interface Holding {
  readonly how: string;
  /** Makes account `accountId` hold `clientId` this way. */
  readonly make: (world: World, accountId: string, clientId: string) => Promise<void>;
}

interface World {
  readonly fixture: ApiFixture;
  readonly store: ProvisionStore;
  readonly acme: string;
  readonly globex: string;
  readonly acmeToken: string;
  readonly globexToken: string;
}

async function adminRequest(world: World, accountId: string, clientId: string, extra: Record<string, unknown> = {}): Promise<{ id: string; version: number }> {
  const created = await world.fixture.api('POST', '/api/v1/provision-requests', { body: { accountId, clientId, ...extra } });
  assert.equal(created.status, 201, JSON.stringify(created.body));
  return created.body;
}

async function validCertificate(world: World, accountId: string, clientId: string, provisionRequestId: string | null = null): Promise<string> {
  const serial = randomUUID().replace(/-/g, '');
  const now = Date.now();
  await world.store.recordCertificate({ serial, accountId, clientId, provisionRequestId, pem, notBefore: now - 1000, notAfter: now + 86_400_000 });
  return serial;
}

const holdings: readonly Holding[] = [
  { how: 'an ENABLED request, never used', make: async (world, accountId, clientId) => void (await adminRequest(world, accountId, clientId)) },
  { how: 'a DISABLED request', make: async (world, accountId, clientId) => void (await adminRequest(world, accountId, clientId, { status: 'DISABLED' })) },
  {
    how: 'a COMPLETED request and the VALID certificate of its device',
    make: async (world, accountId, clientId) => {
      const request = await adminRequest(world, accountId, clientId);
      const serial = await validCertificate(world, accountId, clientId, request.id);
      await world.store.updateProvisionRequest(request.id, request.version, {
        status: 'DISABLED',
        jobStatus: 'COMPLETED',
        certificateSerial: serial,
        modifiedBy: 'test',
      });
    },
  },
  {
    how: 'a VALID certificate whose request was deleted',
    make: async (world, accountId, clientId) => {
      const request = await adminRequest(world, accountId, clientId);
      await validCertificate(world, accountId, clientId, request.id);
      assert.equal((await world.fixture.api('DELETE', `/api/v1/provision-requests/${request.id}`)).status, 204);
    },
  },
  {
    how: 'a request whose certificate was revoked',
    make: async (world, accountId, clientId) => {
      const request = await adminRequest(world, accountId, clientId);
      await world.store.revokeCertificate(await validCertificate(world, accountId, clientId, request.id), 'keyCompromise');
    },
  },
];

/** Everything the store knows about a clientId, to compare before and after. */
async function snapshot(store: ProvisionStore, clientId: string): Promise<unknown> {
  const requests = await store.listProvisionRequests({ clientIds: [clientId], limit: 1000 });
  const certificates = await store.listCertificates({ clientId, limit: 1000 });
  return { requests: requests.items, certificates: certificates.items };
}

function ownershipSuite(backend: string, config: () => Partial<PlatformConfig>): void {
  describe(`who owns a clientId (${backend})`, () => {
    let world: World;
    /** What globex's token gets for a clientId its own account already has a request for: the answer to match. */
    let ownDuplicate: ApiResponse;
    let ownDuplicateInBatch: unknown;
    let fresh = 0;
    const newClientId = (): string => `own-${backend}-${(fresh += 1)}`;

    before(async () => {
      const fixture = await startApiFixture({ config: config() });
      const acme = (await fixture.api('POST', '/api/v1/accounts', { body: { name: 'acme' } })).body.id;
      const globex = (await fixture.api('POST', '/api/v1/accounts', { body: { name: 'globex' } })).body.id;
      const acmeToken = (await fixture.api('POST', '/api/v1/api-tokens', { body: { accountId: acme } })).body.token;
      const globexToken = (await fixture.api('POST', '/api/v1/api-tokens', { body: { accountId: globex } })).body.token;
      world = { fixture, store: fixture.store, acme, globex, acmeToken, globexToken };
      await adminRequest(world, globex, 'globex-own');
      ownDuplicate = await asGlobex({ accountId: globex, clientId: 'globex-own' });
      assert.equal(ownDuplicate.status, 409);
      const batch = await fixture.api('POST', '/api/v1/provision-requests/batch', {
        token: globexToken,
        body: { requests: [{ accountId: globex, clientId: 'globex-own' }] },
      });
      ownDuplicateInBatch = batch.body.failed[0].problem;
    });
    after(() => world?.fixture.close());

    const asGlobex = (body: Record<string, unknown>): Promise<ApiResponse> =>
      world.fixture.api('POST', '/api/v1/provision-requests', { token: world.globexToken, body });

    for (const holding of holdings) {
      it(`Should not let another account's token claim a clientId held by ${holding.how}, nor tell it apart from its own`, async () => {
        const clientId = newClientId();
        await holding.make(world, world.acme, clientId);
        const before = await snapshot(world.store, clientId);
        const { globex } = world;

        for (const extra of [{}, { overwriteIfDuplicate: true }, { status: 'DISABLED' }, { overwriteIfDuplicate: true, status: 'DISABLED' }]) {
          const answer = await asGlobex({ accountId: globex, clientId, ...extra });
          assert.equal(answer.status, 409, JSON.stringify(extra));
          assert.deepEqual(answer.body, ownDuplicate.body, `the same answer as for its own clientId: ${JSON.stringify(extra)}`);
        }
        const batch = await world.fixture.api('POST', '/api/v1/provision-requests/batch', {
          token: world.globexToken,
          body: {
            requests: [
              { accountId: globex, clientId },
              { accountId: globex, clientId: `${clientId}-fresh` },
            ],
          },
        });
        assert.equal(batch.status, 200);
        assert.deepEqual(
          batch.body.created.map((item: { clientId: string }) => item.clientId),
          [`${clientId}-fresh`],
        );
        assert.deepEqual(batch.body.failed, [{ index: 0, clientId, problem: ownDuplicateInBatch }]);
        const overwriting = await world.fixture.api('POST', '/api/v1/provision-requests/batch', {
          token: world.globexToken,
          body: { requests: [{ accountId: globex, clientId, overwriteIfDuplicate: true }] },
        });
        assert.deepEqual(overwriting.body.failed, [{ index: 0, clientId, problem: ownDuplicateInBatch }]);
        const csv = await fetch(`${world.fixture.baseUrl}/api/v1/provision-requests/batch`, {
          method: 'POST',
          headers: { authorization: `Bearer ${world.globexToken}`, 'content-type': 'application/json', accept: 'text/csv' },
          body: JSON.stringify({ requests: [{ accountId: globex, clientId, overwriteIfDuplicate: true }] }),
        });
        assert.equal(csv.headers.get('x-failed-count'), '1');
        assert.doesNotMatch(await csv.text(), new RegExp(clientId));

        assert.deepEqual(await snapshot(world.store, clientId), before, "acme's records are as they were");
        const refused = await world.fixture.api('GET', `/api/v1/audit-events?clientId=${clientId}&type=request.claim_refused`);
        assert.ok(refused.body.total >= 1, 'the admin sees the refused claims');
        assert.ok(
          refused.body.items.every(
            (event: { accountId: string | null; detail: { heldBy: string[] } }) => event.accountId === null && event.detail.heldBy.includes(world.acme),
          ),
        );
        for (const token of [world.acmeToken, world.globexToken]) {
          const seen = await world.fixture.api('GET', `/api/v1/audit-events?clientId=${clientId}&type=request.claim_refused`, { token });
          assert.equal(seen.body.total, 0, 'no account sees them');
        }
      });
    }

    it("Should answer another account's token about a held clientId exactly as about one nobody holds, on every route that takes a clientId", async () => {
      const held = newClientId();
      await holdings[2]!.make(world, world.acme, held);
      const unused = `${held}-nobody`;
      for (const path of ['/api/v1/provision-requests?clientId=', '/api/v1/certificates?clientId=', '/api/v1/audit-events?clientId=']) {
        const [about, nothing] = [
          await world.fixture.api('GET', `${path}${held}`, { token: world.globexToken }),
          await world.fixture.api('GET', `${path}${unused}`, { token: world.globexToken }),
        ];
        assert.equal(about.status, 200, path);
        assert.deepEqual(about.body, nothing.body, path);
      }
    });

    it('Should let the holder create again for its own clientId, and re-provision it with overwriteIfDuplicate', async () => {
      const clientId = newClientId();
      await holdings[2]!.make(world, world.acme, clientId);
      const again = await world.fixture.api('POST', '/api/v1/provision-requests', {
        token: world.acmeToken,
        body: { accountId: world.acme, clientId, overwriteIfDuplicate: true },
      });
      assert.equal(again.status, 201, JSON.stringify(again.body));
    });

    it('Should let the admin move a clientId only with overwriteIfDuplicate, naming the holder otherwise', async () => {
      const clientId = newClientId();
      await holdings[2]!.make(world, world.acme, clientId);
      const plain = await world.fixture.api('POST', '/api/v1/provision-requests', { body: { accountId: world.globex, clientId } });
      assert.equal(plain.status, 409);
      assert.match(plain.body.detail, new RegExp(world.acme));
      const moved = await world.fixture.api('POST', '/api/v1/provision-requests', { body: { accountId: world.globex, clientId, overwriteIfDuplicate: true } });
      assert.equal(moved.status, 201, JSON.stringify(moved.body));
    });

    it('Should refuse enabling a request while another account holds its clientId, whoever asks', async () => {
      const clientId = newClientId();
      await holdings[2]!.make(world, world.acme, clientId);
      // A request of globex for it, DISABLED, as two creations racing, or a move back, could leave behind.
      const stale = await world.store.createProvisionRequest({
        accountId: world.globex,
        clientId,
        username: clientId,
        passwordHash: 'x',
        activationKeyHash: null,
        activatesOn: Date.now() - 1000,
        expiresOn: Date.now() + 86_400_000,
        retryMaxAttempts: 3,
        overwriteIfDuplicate: false,
        status: 'DISABLED',
        configurationId: null,
        bundleIds: [],
        createdBy: 'test',
      });
      const before = await snapshot(world.store, clientId);
      for (const token of [world.globexToken, world.fixture.adminToken]) {
        const enable = await world.fixture.api('POST', `/api/v1/provision-requests/${stale.id}/enable`, { token });
        assert.equal(enable.status, 409);
        assert.deepEqual(enable.body, { ...ownDuplicate.body, instance: `/api/v1/provision-requests/${stale.id}/enable` });
        const patch = await world.fixture.api('PATCH', `/api/v1/provision-requests/${stale.id}`, {
          token,
          body: { version: stale.version, status: 'ENABLED' },
        });
        assert.equal(patch.status, 409);
      }
      assert.deepEqual(await snapshot(world.store, clientId), before);
      const other = await world.fixture.api('PATCH', `/api/v1/provision-requests/${stale.id}`, {
        token: world.globexToken,
        body: { version: stale.version, retryMaxAttempts: 4 },
      });
      assert.equal(other.status, 200, 'changes that claim nothing are allowed');
    });

    it('Should give nobody a way to move a request by PATCH: accountId and clientId are not fields, for any token, on any id', async () => {
      const acmeRequest = await adminRequest(world, world.acme, newClientId());
      for (const token of [world.globexToken, world.acmeToken, world.fixture.adminToken]) {
        for (const id of [acmeRequest.id, 'no-such-request']) {
          for (const body of [
            { version: acmeRequest.version, accountId: world.globex },
            { version: acmeRequest.version, clientId: 'elsewhere' },
          ]) {
            const answer = await world.fixture.api('PATCH', `/api/v1/provision-requests/${id}`, { token, body });
            assert.equal(answer.status, 400, `${JSON.stringify(body)} on ${id}`);
          }
        }
      }
      assert.equal((await world.store.getProvisionRequest(acmeRequest.id))?.accountId, world.acme);
    });

    it('Should let another account claim a clientId once its holder released it: requests deleted, certificates revoked', async () => {
      const clientId = newClientId();
      const request = await adminRequest(world, world.acme, clientId);
      const serial = await validCertificate(world, world.acme, clientId, request.id);
      assert.equal((await world.fixture.api('DELETE', `/api/v1/provision-requests/${request.id}`, { token: world.acmeToken })).status, 204);
      assert.equal((await asGlobex({ accountId: world.globex, clientId })).status, 409, 'still held by the VALID certificate');
      const revoke = await world.fixture.api('POST', `/api/v1/certificates/${serial}/revoke`, {
        token: world.acmeToken,
        body: { reason: 'cessationOfOperation' },
      });
      assert.equal(revoke.status, 200);
      const claimed = await asGlobex({ accountId: world.globex, clientId });
      assert.equal(claimed.status, 201, JSON.stringify(claimed.body));
      const back = await world.fixture.api('POST', '/api/v1/provision-requests', { token: world.acmeToken, body: { accountId: world.acme, clientId } });
      assert.equal(back.status, 409, 'now globex holds it');
    });

    it('Should leave a moved clientId to the receiving account: the old holder can neither create nor re-enable', async () => {
      const clientId = newClientId();
      await holdings[2]!.make(world, world.acme, clientId);
      const moved = await adminRequest(world, world.globex, clientId, { overwriteIfDuplicate: true });
      // The device completes in globex: its certificate is VALID, acme's is revoked (provisioner/completion.ts).
      const acmeSerials = (await world.store.listCertificates({ clientId, accountId: world.acme })).items.map((item) => item.serial);
      await validCertificate(world, world.globex, clientId, moved.id);
      for (const serial of acmeSerials) await world.store.revokeCertificate(serial, 'superseded: device provisioned again');
      const acmeRequest = (await world.store.listProvisionRequests({ accountId: world.acme, clientIds: [clientId] })).items[0]!;

      const create = await world.fixture.api('POST', '/api/v1/provision-requests', {
        token: world.acmeToken,
        body: { accountId: world.acme, clientId, overwriteIfDuplicate: true },
      });
      assert.equal(create.status, 409);
      const enable = await world.fixture.api('POST', `/api/v1/provision-requests/${acmeRequest.id}/enable`, { token: world.acmeToken });
      assert.equal(enable.status, 409);
      const again = await world.fixture.api('POST', '/api/v1/provision-requests', {
        token: world.globexToken,
        body: { accountId: world.globex, clientId, overwriteIfDuplicate: true },
      });
      assert.equal(again.status, 201, 'globex re-provisions its device');
    });
  });
}

ownershipSuite('sqlite', () => ({}));
if (redis) {
  const server: RedisServer = redis;
  ownershipSuite('redis', () => ({ storeBackend: 'redis', redisUrl: server.url, redisKeyPrefix: `test:${randomUUID()}:` }));
}
