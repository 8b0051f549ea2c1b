import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { Ajv2020 } from 'ajv/dist/2020.js';
import { parse } from 'csv-parse/sync';
import { addPlatformFormats } from '../api/validation.ts';
import type { FleetUpdateNotice } from '../cluster/fleet-update-notice.ts';
import { startRedisOrSkip, type RedisServer } from '../dev-support/redis-server.ts';
import type { DevicePatch } from '../store/types.ts';
import { startApiFixture, type ApiFixture } from './support/api-fixture.ts';

const dayMs = 24 * 60 * 60 * 1000;
const csvHeader = [
  'id',
  'accountId',
  'clientId',
  'category',
  'tags',
  'online',
  'brokerId',
  'model',
  'serial',
  'firmware',
  'certificateSerial',
  'certificateNotAfter',
  'configurationState',
  'expectedConfigurationHash',
  'reportedConfigurationHash',
  'provisionedOn',
  'lastSeenOn',
];

/** The device registry over the admin API (issue 15 §1), over HTTP against each real store backend. */
const redis = await startRedisOrSkip();
after(async () => {
  await redis?.stop();
});
for (const backend of ['sqlite', 'redis'] as const) describeDevices(backend, backend === 'redis' ? redis : null);

function describeDevices(backend: 'sqlite' | 'redis', redis: RedisServer | null): void {
  describe(`Admin API: device registry (${backend})`, { skip: backend === 'redis' && !redis ? 'redis-server is not installed' : false }, () => {
    let fixture: ApiFixture;
    let acme: string;
    let globex: string;
    let acmeToken: string;
    const now = Date.now();
    const ids: Record<string, string> = {};
    /** What the API told the (absent) brokers to bring up to date. */
    const notices: FleetUpdateNotice[] = [];

    /** The acme fleet: what each filter should select is written next to the devices. */
    const acmeDevices: Record<string, DevicePatch> = {
      'sensor-1': {
        category: 'sensors',
        tags: ['floor-1', 'east', 'east'],
        online: true,
        brokerId: 'broker-a',
        model: 'TH-10',
        serial: 'SN-1',
        firmware: '1.0',
        certificateSerial: '0a01',
        certificateNotAfter: now + 10 * dayMs,
        expectedConfigurationHash: 'hash-1',
        reportedConfigurationHash: 'hash-1',
        configurationState: 'APPLIED',
        provisionedOn: now - 5 * dayMs,
        lastSeenOn: now - 1000,
      },
      'sensor-2': {
        category: 'sensors',
        tags: ['west'],
        online: false,
        brokerId: 'broker-b',
        model: 'TH-10',
        firmware: '1.1',
        certificateSerial: '0a02',
        certificateNotAfter: now + 40 * dayMs,
        expectedConfigurationHash: 'hash-2',
        reportedConfigurationHash: 'hash-1',
        configurationState: 'REFUSED',
        configurationError: 'unknown key',
      },
      'gateway-1': {
        category: 'gateways',
        tags: ['east'],
        online: true,
        brokerId: 'broker-a',
        model: 'Heater "X", rev 2',
        firmware: '2.0',
        certificateSerial: '0a03',
        certificateNotAfter: now + 5 * dayMs,
        expectedConfigurationHash: 'hash-3',
        configurationState: 'PENDING',
        bundles: [{ name: 'org.example.agent', version: '1.2.0', sha256: 'ab'.repeat(32) }],
      },
      'bare-1': {},
    };

    before(async () => {
      fixture = await startApiFixture({
        ...(redis ? { config: { storeBackend: 'redis', redisUrl: redis.url, redisKeyPrefix: `devices:${randomUUID()}:` } } : {}),
        fleetUpdates: { tellToUpdate: async (notice) => void notices.push(notice) },
      });
      acme = (await fixture.api('POST', '/api/v1/accounts', { body: { name: 'acme' } })).body.id;
      globex = (await fixture.api('POST', '/api/v1/accounts', { body: { name: 'globex' } })).body.id;
      acmeToken = (await fixture.api('POST', '/api/v1/api-tokens', { body: { accountId: acme } })).body.token;
      for (const name of ['sensors', 'gateways']) await fixture.store.createCategory({ accountId: acme, name });
      await fixture.store.createCategory({ accountId: globex, name: 'outside' });
      for (const [clientId, patch] of Object.entries(acmeDevices)) ids[clientId] = (await fixture.store.upsertDevice(acme, clientId, patch)).id;
      ids['globex-1'] = (await fixture.store.upsertDevice(globex, 'globex-1', { category: 'outside', online: true })).id;
    });
    after(async () => {
      await fixture.close();
    });

    const list = (query: string, token?: string) => fixture.api('GET', `/api/v1/devices?${query}`, token === undefined ? {} : { token });
    const clientIdsOf = (body: { items: { clientId: string }[] }) => body.items.map((device) => device.clientId);

    /** Checks an answer against the schema the served OpenAPI document publishes for it. */
    async function conforms(schemaName: string, value: unknown): Promise<void> {
      const document = (await fixture.api('GET', '/api/v1/openapi.json', { token: null })).body;
      const ajv = new Ajv2020({ strict: false, allErrors: true });
      addPlatformFormats(ajv);
      ajv.addSchema({ $id: 'https://provisio.dev/openapi.json', components: document.components });
      const validate = ajv.compile({ $ref: `https://provisio.dev/openapi.json#/components/schemas/${schemaName}` });
      assert.ok(validate(value), `${schemaName}: ${ajv.errorsText(validate.errors)}`);
    }

    describe('listing', () => {
      it('Should need an account with the admin token and keep an account token to its own', async () => {
        const missing = await list('');
        assert.equal(missing.status, 400);
        assert.equal(missing.body.errors[0].path, 'query/accountId');
        const own = await list('', acmeToken);
        assert.equal(own.status, 200);
        assert.deepEqual(clientIdsOf(own.body), ['bare-1', 'gateway-1', 'sensor-1', 'sensor-2']);
        assert.equal((await list(`accountId=${globex}`, acmeToken)).status, 403);
      });

      it('Should show each device as recorded, ordered by clientId, in the published schema', async () => {
        const { status, body } = await list(`accountId=${acme}`);
        assert.equal(status, 200);
        assert.equal(body.total, 4);
        await conforms('DevicePage', body);
        const sensor = body.items.find((device: { clientId: string }) => device.clientId === 'sensor-1');
        assert.equal(sensor.id, ids['sensor-1']);
        assert.equal(sensor.accountId, acme);
        assert.deepEqual(sensor.tags, ['east', 'floor-1']);
        assert.equal(sensor.online, true);
        assert.equal(sensor.brokerId, 'broker-a');
        assert.equal(sensor.certificateNotAfter, new Date(now + 10 * dayMs).toISOString());
        assert.equal(sensor.provisionedOn, new Date(now - 5 * dayMs).toISOString());
        assert.equal(sensor.configurationState, 'APPLIED');
        const bare = body.items.find((device: { clientId: string }) => device.clientId === 'bare-1');
        assert.equal(bare.category, null);
        assert.equal(bare.certificateNotAfter, null);
        assert.deepEqual(bare.bundles, []);
      });

      for (const [query, expected] of [
        ['category=sensors', ['sensor-1', 'sensor-2']],
        ['tag=east', ['gateway-1', 'sensor-1']],
        ['tag=floor-1', ['sensor-1']],
        ['online=true', ['gateway-1', 'sensor-1']],
        ['online=false', ['bare-1', 'sensor-2']],
        ['configurationInSync=true', ['sensor-1']],
        ['configurationInSync=false', ['gateway-1', 'sensor-2']],
        [`certificateExpiresBefore=${new Date(now + 20 * dayMs).toISOString()}`, ['gateway-1', 'sensor-1']],
        ['model=TH-10', ['sensor-1', 'sensor-2']],
        ['firmware=2.0', ['gateway-1']],
        ['clientId=sensor-2', ['sensor-2']],
        ['category=sensors&online=true', ['sensor-1']],
        ['category=nothing', []],
      ] as const) {
        it(`Should filter by ${query}`, async () => {
          const { status, body } = await list(`accountId=${acme}&${query}`);
          assert.equal(status, 200, JSON.stringify(body));
          assert.deepEqual(clientIdsOf(body), expected);
          assert.equal(body.total, expected.length);
        });
      }

      it('Should page with the total of the whole selection', async () => {
        const { body } = await list(`accountId=${acme}&offset=1&limit=2`);
        assert.deepEqual(clientIdsOf(body), ['gateway-1', 'sensor-1']);
        assert.deepEqual([body.total, body.offset, body.limit], [4, 1, 2]);
        assert.deepEqual(clientIdsOf((await list(`accountId=${acme}&online=false&offset=1`)).body), ['sensor-2']);
      });

      it('Should refuse filters that are not valid, naming them', async () => {
        for (const query of ['online=maybe', 'certificateExpiresBefore=tomorrow', `tag=${'t'.repeat(65)}`, 'category=a%0Ab', 'colour=red']) {
          const { status, body } = await list(`accountId=${acme}&${query}`);
          assert.equal(status, 400, query);
          assert.match(body.errors[0].path, new RegExp(`^query/${query.split('=')[0]}`), query);
        }
      });
    });

    describe('CSV export', () => {
      const csv = (query: string, token?: string) =>
        fixture.api('GET', `/api/v1/devices?${query}`, { headers: { accept: 'text/csv' }, ...(token === undefined ? {} : { token }) });

      it('Should answer the selection as devices.csv that parses back to the JSON rows', async () => {
        const answer = await csv(`accountId=${acme}&limit=1`);
        assert.equal(answer.status, 200);
        assert.match(answer.headers.get('content-type')!, /^text\/csv/);
        assert.equal(answer.headers.get('content-disposition'), 'attachment; filename="devices.csv"');
        const rows: string[][] = parse(answer.body);
        assert.deepEqual(rows[0], csvHeader);
        const json = (await list(`accountId=${acme}`)).body.items as Record<string, unknown>[];
        const expected = json.map((device) =>
          csvHeader.map((column) => {
            const value = device[column];
            if (column === 'tags') return (value as string[]).join(';');
            return value === null ? '' : String(value);
          }),
        );
        assert.deepEqual(rows.slice(1), expected, 'every device (offset and limit ignored), field for field');
        assert.equal(rows[1 + json.findIndex((device) => device['clientId'] === 'gateway-1')]![7], 'Heater "X", rev 2');
      });

      it('Should apply the filters and the account scope of the token', async () => {
        const rows: string[][] = parse((await csv('online=true', acmeToken)).body);
        assert.deepEqual(
          rows.slice(1).map((row) => row[2]),
          ['gateway-1', 'sensor-1'],
        );
        assert.deepEqual(
          rows.slice(1).map((row) => row[5]),
          ['true', 'true'],
        );
        const empty: string[][] = parse((await csv(`accountId=${acme}&category=nothing`)).body);
        assert.deepEqual(empty, [csvHeader]);
        assert.equal((await csv(`accountId=${globex}`, acmeToken)).status, 403);
        assert.equal((await csv('')).status, 400);
      });

      it('Should hold every device of a selection larger than one store page', async () => {
        const fleet = (await fixture.api('POST', '/api/v1/accounts', { body: { name: 'fleet' } })).body.id;
        const clientIds = Array.from({ length: 2345 }, (_, index) => `fleet-${String(index).padStart(5, '0')}`);
        for (const clientId of clientIds) await fixture.store.upsertDevice(fleet, clientId, { tags: ['bulk'] });
        const rows: string[][] = parse((await csv(`accountId=${fleet}&tag=bulk`)).body);
        assert.deepEqual(rows[0], csvHeader);
        assert.deepEqual(
          rows.slice(1).map((row) => row[2]),
          clientIds,
        );
      });
    });

    describe('one device', () => {
      it('Should show its jobs, its newest 50 audit events and the certificates of its account', async () => {
        const job = await fixture.store.createUpdateJob({
          accountId: acme,
          name: 'agent 1.2',
          category: 'sensors',
          tags: [],
          clientIds: [],
          bundleIds: [],
          configurationId: null,
          configurationVersion: null,
          failureThreshold: null,
          createdBy: 'admin',
        });
        await fixture.store.setJobDeviceStatus(job.id, acme, 'sensor-1', { state: 'FAILED', error: 'disk full' });
        for (let index = 0; index < 55; index += 1) {
          await fixture.store.appendAudit({
            type: 'device.test',
            outcome: 'success',
            actor: 'test',
            accountId: acme,
            clientId: 'sensor-1',
            provisionRequestId: null,
            detail: { index },
          });
        }
        const other = { type: 'device.test', outcome: 'success', actor: 'test', provisionRequestId: null, detail: { index: -1 } } as const;
        await fixture.store.appendAudit({ ...other, accountId: acme, clientId: 'sensor-2' });
        await fixture.store.appendAudit({ ...other, accountId: globex, clientId: 'sensor-1' });
        const certificate = {
          clientId: 'sensor-1',
          provisionRequestId: null,
          pem: '-----BEGIN CERTIFICATE-----\nTUlJQg==\n-----END CERTIFICATE-----\n',
          notBefore: now - dayMs,
          notAfter: now + 10 * dayMs,
        };
        await fixture.store.recordCertificate({ ...certificate, serial: '0a00', accountId: acme });
        await fixture.store.revokeCertificate('0a00', 'superseded');
        await fixture.store.recordCertificate({ ...certificate, serial: '0a01', accountId: acme });
        await fixture.store.recordCertificate({ ...certificate, serial: '0b01', accountId: globex });

        const { status, body } = await fixture.api('GET', `/api/v1/devices/${ids['sensor-1']}`, { token: acmeToken });
        assert.equal(status, 200);
        await conforms('DeviceDetail', body);
        assert.equal(body.clientId, 'sensor-1');
        assert.deepEqual(body.jobs, [{ jobId: job.id, state: 'FAILED', error: 'disk full', modifiedOn: body.jobs[0].modifiedOn }]);
        assert.equal(body.audit.length, 50);
        assert.deepEqual(
          body.audit.map((event: { detail: { index: number } }) => event.detail.index),
          Array.from({ length: 50 }, (_, index) => 54 - index),
          'the newest 50, newest first, of this account and clientId only',
        );
        assert.deepEqual(
          body.certificates.map((held: { serial: string; status: string }) => [held.serial, held.status]),
          [
            ['0a00', 'REVOKED'],
            ['0a01', 'VALID'],
          ],
        );
        assert.equal(typeof body.certificates[0].revokedOn, 'string');
        assert.equal(body.certificates[1].revokedOn, null);
        assert.equal(body.certificates[0].pem, undefined);
      });

      it('Should answer 404 alike for a missing device and one of another account', async () => {
        const foreign = await fixture.api('GET', `/api/v1/devices/${ids['globex-1']}`, { token: acmeToken });
        const missing = await fixture.api('GET', '/api/v1/devices/no-such-device', { token: acmeToken });
        assert.equal(foreign.status, 404);
        assert.equal(missing.status, 404);
        assert.equal(foreign.body.detail, missing.body.detail);
        assert.equal((await fixture.api('GET', `/api/v1/devices/${ids['globex-1']}`)).status, 200, 'the admin sees every account');
      });
    });

    describe('changing one', () => {
      const patch = (clientId: string, body: unknown, token?: string) =>
        fixture.api('PATCH', `/api/v1/devices/${ids[clientId]}`, { body, ...(token === undefined ? {} : { token }) });
      const updates = async (clientId: string) => (await fixture.store.listAudit({ accountId: acme, clientId, type: 'device.updated' })).items;

      it('Should move a device to another category of its account, audited with from and to', async () => {
        const { status, body } = await patch('sensor-2', { category: 'gateways' }, acmeToken);
        assert.equal(status, 200);
        await conforms('Device', body);
        assert.equal(body.category, 'gateways');
        assert.deepEqual(body.tags, ['west'], 'tags not sent stay');
        assert.equal((await fixture.store.getDevice(acme, 'sensor-2'))?.category, 'gateways');
        const [event, ...more] = await updates('sensor-2');
        assert.equal(more.length, 0);
        assert.equal(event!.actor, acmeToken.split('.')[0]);
        assert.deepEqual(event!.detail, { deviceId: ids['sensor-2'], from: { category: 'sensors' }, to: { category: 'gateways' } });
        assert.deepEqual(clientIdsOf((await list(`accountId=${acme}&category=gateways`)).body), ['gateway-1', 'sensor-2']);
        assert.deepEqual(notices, [], 'an offline device catches up at its next birth');
      });

      it('Should refuse a category its account does not have, naming the field, and change nothing', async () => {
        for (const category of ['nothing', 'outside']) {
          const { status, body } = await patch('sensor-1', { category, tags: ['new'] });
          assert.equal(status, 400);
          assert.equal(body.code, 'VALIDATION_FAILED');
          assert.deepEqual(body.errors, [{ path: 'body/category', message: 'names no category of this account' }]);
        }
        const device = await fixture.store.getDevice(acme, 'sensor-1');
        assert.equal(device?.category, 'sensors');
        assert.deepEqual(device?.tags, ['east', 'floor-1']);
      });

      it('Should replace the tags, sorted and without repeats, and take a device out of its category with null', async () => {
        const { body } = await patch('bare-1', { tags: ['zeta', 'alpha', 'zeta', 'mid dle'] });
        assert.deepEqual(body.tags, ['alpha', 'mid dle', 'zeta']);
        const [event] = await updates('bare-1');
        assert.deepEqual(event!.detail, { deviceId: ids['bare-1'], from: { tags: [] }, to: { tags: ['alpha', 'mid dle', 'zeta'] } });
        assert.deepEqual(notices, []);
        const out = await patch('gateway-1', { category: null, tags: [] });
        assert.deepEqual(
          notices.splice(0),
          [{ accountId: acme, accountName: 'acme', clientIds: ['gateway-1'], cause: 'category' }],
          'an online device is told at once',
        );
        assert.equal(out.body.category, null);
        assert.deepEqual(out.body.tags, []);
        assert.deepEqual((await fixture.store.getDevice(acme, 'gateway-1'))?.tags, []);
      });

      it('Should write nothing when nothing changes', async () => {
        const before = (await updates('sensor-1')).length;
        const { status, body } = await patch('sensor-1', { category: 'sensors', tags: ['floor-1', 'east'] });
        assert.equal(status, 200);
        assert.deepEqual(body.tags, ['east', 'floor-1']);
        assert.equal((await updates('sensor-1')).length, before);
        assert.deepEqual(notices, [], 'sensor-1 is online, but nothing changed');
      });

      it('Should refuse bodies that are not valid, naming the field', async () => {
        for (const [body, path] of [
          [{}, 'body'],
          [{ tags: ['line\nbreak'] }, 'body/tags/0'],
          [{ tags: [''] }, 'body/tags/0'],
          [{ tags: Array.from({ length: 33 }, (_, index) => `t${index}`) }, 'body/tags'],
          [{ category: 'has space' }, 'body/category'],
          [{ version: 1 }, 'body/version'],
        ] as const) {
          const answer = await patch('sensor-1', body);
          assert.equal(answer.status, 400, JSON.stringify(body));
          assert.equal(answer.body.errors[0].path, path, JSON.stringify(body));
        }
      });

      it("Should answer 404 for another account's device and change nothing", async () => {
        const { status } = await patch('globex-1', { tags: ['mine'] }, acmeToken);
        assert.equal(status, 404);
        assert.deepEqual((await fixture.store.getDevice(globex, 'globex-1'))?.tags, []);
      });
    });

    it('Should document the JSON and CSV answers of the list in the served OpenAPI document', async () => {
      const document = (await fixture.api('GET', '/api/v1/openapi.json', { token: null })).body;
      const listing = document.paths['/api/v1/devices'].get;
      assert.deepEqual(Object.keys(listing.responses['200'].content).sort(), ['application/json', 'text/csv']);
      assert.deepEqual(Object.keys(document.paths['/api/v1/devices/{id}']).sort(), ['get', 'patch']);
    });
  });
}
