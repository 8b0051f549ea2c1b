import assert from 'node:assert/strict';
import { randomBytes, randomUUID } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { Ajv2020 } from 'ajv/dist/2020.js';
import { addPlatformFormats } from '../api/validation.ts';
import { componentSchemas, type SchemaName } from '../api/schemas/index.ts';
import type { FleetUpdateNotice } from '../cluster/fleet-update-notice.ts';
import { startRedisOrSkip, type RedisServer } from '../dev-support/redis-server.ts';
import { startApiFixture, type ApiFixture } from './support/api-fixture.ts';

/** Update jobs over the admin API (issue 15 §4), over HTTP against each real store backend. The devices' side is test/update-jobs.test.ts. */
const redis = await startRedisOrSkip();
after(async () => {
  await redis?.stop();
});
for (const backend of ['sqlite', 'redis'] as const) describeUpdateJobs(backend, backend === 'redis' ? redis : null);

function describeUpdateJobs(backend: 'sqlite' | 'redis', redis: RedisServer | null): void {
  describe(`Admin API: update jobs (${backend})`, { skip: backend === 'redis' && !redis ? 'redis-server is not installed' : false }, () => {
    let fixture: ApiFixture;
    let accountId: string;
    let otherAccountId: string;
    let accountToken: string;
    let bundleId: string;
    let otherBundleId: string;
    let configurationId: string;
    /** What the API handed to the broker side: the fleet-update sender of a process without a broker, recorded. */
    const notices: FleetUpdateNotice[] = [];

    async function upload(account: string, name: string): Promise<string> {
      const response = await fetch(`${fixture.baseUrl}/api/v1/bundles?accountId=${account}&name=${name}&version=1.0.0`, {
        method: 'POST',
        headers: { authorization: `Bearer ${fixture.adminToken}`, 'content-type': 'application/octet-stream' },
        body: randomBytes(256),
      });
      assert.equal(response.status, 201);
      return ((await response.json()) as { id: string }).id;
    }

    before(async () => {
      fixture = await startApiFixture({
        ...(redis ? { config: { storeBackend: 'redis', redisUrl: redis.url, redisKeyPrefix: `update-jobs:${randomUUID()}:` } } : {}),
        fleetUpdates: { tellToUpdate: async (notice) => void notices.push(notice) },
      });
      accountId = (await fixture.api('POST', '/api/v1/accounts', { body: { name: 'acme' } })).body.id;
      otherAccountId = (await fixture.api('POST', '/api/v1/accounts', { body: { name: 'globex' } })).body.id;
      accountToken = (await fixture.api('POST', '/api/v1/api-tokens', { body: { accountId, description: 'jobs' } })).body.token;
      for (const name of ['heaters', 'lamps']) assert.equal((await fixture.api('POST', '/api/v1/categories', { body: { accountId, name } })).status, 201);
      bundleId = await upload(accountId, 'org.example.heater');
      otherBundleId = await upload(otherAccountId, 'org.example.theirs');
      configurationId = (await fixture.api('POST', '/api/v1/configurations', { body: { accountId, name: 'heating', content: { target: 20 } } })).body.id;
      const { store } = fixture;
      await store.upsertDevice(accountId, 'heater-1', { category: 'heaters', tags: ['eu'], online: true });
      await store.upsertDevice(accountId, 'heater-2', { category: 'heaters', tags: ['eu', 'beta'], online: true });
      await store.upsertDevice(accountId, 'heater-3', { category: 'heaters', tags: ['us'], online: false });
      await store.upsertDevice(accountId, 'lamp-1', { category: 'lamps', tags: ['eu'], online: true });
      await store.upsertDevice(otherAccountId, 'heater-1', { online: true });
    });
    after(async () => {
      await fixture.close();
    });

    const createJob = (body: Record<string, unknown>, token?: string) =>
      fixture.api('POST', '/api/v1/update-jobs', { body: { accountId, name: 'job', ...body }, ...(token ? { token } : {}) });

    /** The clientIds the API told the broker side about since `from` (an index into notices). */
    const toldSince = (from: number): string[] =>
      notices
        .slice(from)
        .flatMap((notice) => notice.clientIds)
        .sort();

    /** The answer matches the schema the API publishes under that name. */
    function conforms(schemaName: SchemaName, value: unknown): void {
      const ajv = new Ajv2020({ strict: false, allErrors: true });
      addPlatformFormats(ajv);
      ajv.addSchema({ $id: 'https://provisio.dev/openapi.json', components: { schemas: JSON.parse(JSON.stringify(componentSchemas)) } });
      const validate = ajv.compile({ $ref: `https://provisio.dev/openapi.json#/components/schemas/${schemaName}` });
      assert.ok(validate(value), `${schemaName}: ${ajv.errorsText(validate.errors)}`);
    }

    async function auditTypes(jobId: string): Promise<string[]> {
      const { body } = await fixture.api('GET', `/api/v1/audit-events?accountId=${accountId}&limit=1000`);
      return (body.items as { type: string; detail: { jobId?: string } }[])
        .filter((event) => event.detail.jobId === jobId)
        .map((event) => event.type)
        .sort();
    }

    describe('creating', () => {
      it("Should create a RUNNING job for a category, count the devices that match it and tell the online ones, not another category's", async () => {
        const from = notices.length;
        const created = await createJob({ name: 'heater 1.0.0', category: 'heaters', bundleIds: [bundleId], failureThreshold: 2 });
        assert.equal(created.status, 201, JSON.stringify(created.body));
        conforms('UpdateJobDetail', created.body);
        const job = created.body;
        assert.equal(job.state, 'RUNNING');
        assert.equal(job.category, 'heaters');
        assert.deepEqual(job.bundleIds, [bundleId]);
        assert.equal(job.configurationId, null);
        assert.equal(job.failureThreshold, 2);
        assert.equal(job.createdBy, 'admin');
        assert.deepEqual(job.counts, { PENDING: 0, SENT: 0, DOWNLOADING: 0, INSTALLED: 0, FAILED: 0 }, 'no device is listed before it is sent the job');
        assert.equal(job.matchingDevices, 3, 'the three heaters, online or not');
        assert.deepEqual(toldSince(from), ['heater-1', 'heater-2'], 'the online heaters, not the offline one, the lamp or the other account');
        assert.ok(notices.slice(from).every((notice) => notice.accountId === accountId && notice.accountName === 'acme' && notice.cause === 'job'));
        assert.deepEqual(await auditTypes(job.id), ['job.created']);
        assert.deepEqual((await fixture.api('GET', `/api/v1/update-jobs/${job.id}`)).body, job);
      });

      it('Should narrow the target by every tag and by clientIds', async () => {
        let from = notices.length;
        const tagged = await createJob({ category: 'heaters', tags: ['beta', 'eu', 'eu'], bundleIds: [bundleId] });
        assert.equal(tagged.status, 201);
        assert.deepEqual(tagged.body.tags, ['beta', 'eu'], 'sorted, without repeats');
        assert.equal(tagged.body.matchingDevices, 1);
        assert.deepEqual(toldSince(from), ['heater-2']);

        from = notices.length;
        const anyCategory = await createJob({ tags: ['eu'], bundleIds: [bundleId] });
        assert.equal(anyCategory.body.matchingDevices, 3, 'heater-1, heater-2 and lamp-1 carry eu');
        assert.deepEqual(toldSince(from), ['heater-1', 'heater-2', 'lamp-1']);

        from = notices.length;
        const listed = await createJob({ category: 'heaters', clientIds: ['heater-3', 'lamp-1', 'no-such-device'], bundleIds: [bundleId] });
        assert.equal(listed.status, 201);
        assert.equal(listed.body.matchingDevices, 1, 'heater-3 only: lamp-1 is not a heater, the third does not exist');
        assert.deepEqual(toldSince(from), [], 'heater-3 is offline');
      });

      it('Should fix the configuration version current when the job is made', async () => {
        await fixture.store.updateConfigurationContent(configurationId, 1, { target: 21 }, 'test');
        const created = await createJob({ category: 'heaters', configurationId });
        assert.equal(created.status, 201);
        assert.equal(created.body.configurationId, configurationId);
        assert.equal(created.body.configurationVersion, 2);
        assert.deepEqual(created.body.bundleIds, []);
        await fixture.store.updateConfigurationContent(configurationId, 2, { target: 22 }, 'test');
        assert.equal((await fixture.api('GET', `/api/v1/update-jobs/${created.body.id}`)).body.configurationVersion, 2, 'a later edit does not change the job');
      });

      it('Should refuse a job that names nothing to send, or what the account does not have, naming the field', async () => {
        const cases: [Record<string, unknown>, string][] = [
          [{ category: 'heaters' }, 'body/bundleIds'],
          [{ bundleIds: [] }, 'body/bundleIds'],
          [{ category: 'no-such-category', bundleIds: [bundleId] }, 'body/category'],
          [{ bundleIds: [otherBundleId] }, 'body/bundleIds/0'],
          [{ configurationId: 'no-such-configuration' }, 'body/configurationId'],
          [{ bundleIds: [bundleId], failureThreshold: 0 }, 'body/failureThreshold'],
          [{ bundleIds: [bundleId], tags: ['line\nbreak'] }, 'body/tags/0'],
          [{ bundleIds: [bundleId], clientIds: ['a/b'] }, 'body/clientIds/0'],
          [{ bundleIds: [bundleId, bundleId] }, 'body/bundleIds'],
          [{ bundleIds: [bundleId], name: '' }, 'body/name'],
          [{ bundleIds: [bundleId], accountId: 'no-such-account' }, 'body/accountId'],
          [{ bundleIds: [bundleId], state: 'PAUSED' }, 'body/state'],
        ];
        for (const [body, path] of cases) {
          const refused = await createJob(body);
          assert.equal(refused.status, 400, JSON.stringify(body));
          assert.equal(refused.body.code, 'VALIDATION_FAILED');
          assert.ok(
            (refused.body.errors as { path: string }[]).some((error) => error.path === path),
            `${JSON.stringify(body)}: ${JSON.stringify(refused.body.errors)} names ${path}`,
          );
        }
      });
    });

    describe('listing and devices', () => {
      it('Should list jobs newest first, filtered by state, and one job with its devices and counts', async () => {
        const { body: older } = await createJob({ name: 'older', category: 'lamps', bundleIds: [bundleId] });
        const { body: newer } = await createJob({ name: 'newer', category: 'lamps', bundleIds: [bundleId] });
        const list = await fixture.api('GET', `/api/v1/update-jobs?accountId=${accountId}&limit=1000`);
        assert.equal(list.status, 200);
        conforms('UpdateJobPage', list.body);
        const ids = (list.body.items as { id: string }[]).map((job) => job.id);
        assert.ok(ids.indexOf(newer.id) < ids.indexOf(older.id), 'newest first');

        await fixture.api('POST', `/api/v1/update-jobs/${older.id}/pause`);
        const paused = await fixture.api('GET', `/api/v1/update-jobs?accountId=${accountId}&state=PAUSED`);
        assert.deepEqual(
          (paused.body.items as { id: string }[]).map((job) => job.id),
          [older.id],
        );

        const { store } = fixture;
        await store.setJobDeviceStatus(newer.id, accountId, 'lamp-1', { state: 'INSTALLED' });
        await store.setJobDeviceStatus(newer.id, accountId, 'lamp-2', { state: 'FAILED', error: 'disk full' });
        await store.setJobDeviceStatus(newer.id, accountId, 'lamp-3', { state: 'SENT' });
        const detail = await fixture.api('GET', `/api/v1/update-jobs/${newer.id}`);
        assert.deepEqual(detail.body.counts, { PENDING: 0, SENT: 1, DOWNLOADING: 0, INSTALLED: 1, FAILED: 1 });
        const devices = await fixture.api('GET', `/api/v1/update-jobs/${newer.id}/devices`);
        assert.equal(devices.status, 200);
        conforms('JobDevicePage', devices.body);
        assert.deepEqual(
          (devices.body.items as { clientId: string; state: string; error: string | null }[]).map(({ clientId, state, error }) => [clientId, state, error]),
          [
            ['lamp-1', 'INSTALLED', null],
            ['lamp-2', 'FAILED', 'disk full'],
            ['lamp-3', 'SENT', null],
          ],
        );
        const failed = await fixture.api('GET', `/api/v1/update-jobs/${newer.id}/devices?state=FAILED`);
        assert.deepEqual(
          (failed.body.items as { clientId: string }[]).map((device) => device.clientId),
          ['lamp-2'],
        );
        assert.equal((await fixture.api('GET', `/api/v1/update-jobs/${newer.id}/devices?state=BROKEN`)).body.errors[0].path, 'query/state');
      });
    });

    describe('pause, resume, cancel', () => {
      it('Should pause, resume (telling the online devices again) and cancel, auditing each, and refuse what the state does not allow', async () => {
        const { body: job } = await createJob({ name: 'lifecycle', category: 'heaters', bundleIds: [bundleId] });
        const paused = await fixture.api('POST', `/api/v1/update-jobs/${job.id}/pause`);
        assert.equal(paused.status, 200);
        conforms('UpdateJob', paused.body);
        assert.equal(paused.body.state, 'PAUSED');
        const pausedAgain = await fixture.api('POST', `/api/v1/update-jobs/${job.id}/pause`);
        assert.equal(pausedAgain.status, 200, 'a repeated call answers the job as it is');
        assert.equal(pausedAgain.body.version, paused.body.version);

        const from = notices.length;
        const resumed = await fixture.api('POST', `/api/v1/update-jobs/${job.id}/resume`);
        assert.equal(resumed.status, 200);
        assert.equal(resumed.body.state, 'RUNNING');
        assert.deepEqual(toldSince(from), ['heater-1', 'heater-2'], 'resuming tells the online devices');

        const cancelled = await fixture.api('POST', `/api/v1/update-jobs/${job.id}/cancel`);
        assert.equal(cancelled.status, 200);
        assert.equal(cancelled.body.state, 'CANCELLED');
        for (const action of ['resume', 'pause']) {
          const refused = await fixture.api('POST', `/api/v1/update-jobs/${job.id}/${action}`);
          assert.equal(refused.status, 409, action);
          assert.equal(refused.body.code, 'JOB_WRONG_STATE');
          assert.match(refused.body.detail, /CANCELLED/);
        }
        assert.deepEqual(await auditTypes(job.id), ['job.cancelled', 'job.created', 'job.paused', 'job.resumed']);
        assert.equal((await fixture.api('POST', `/api/v1/update-jobs/no-such-job/pause`)).status, 404);
      });

      it('Should not cancel a job the failure threshold stopped', async () => {
        const { body: job } = await createJob({ name: 'stopped', category: 'heaters', bundleIds: [bundleId] });
        await fixture.store.updateUpdateJobState(job.id, job.version, 'STOPPED');
        const refused = await fixture.api('POST', `/api/v1/update-jobs/${job.id}/cancel`);
        assert.equal(refused.status, 409);
        assert.equal(refused.body.code, 'JOB_WRONG_STATE');
      });
    });

    describe('account tokens', () => {
      it("Should create, see and change only its own account's jobs", async () => {
        const own = await createJob({ name: 'own', bundleIds: [bundleId] }, accountToken);
        assert.equal(own.status, 201);
        assert.equal((await createJob({ accountId: otherAccountId, bundleIds: [otherBundleId] }, accountToken)).status, 403);
        const { body: theirs } = await createJob({ accountId: otherAccountId, bundleIds: [otherBundleId] });
        for (const path of [`/api/v1/update-jobs/${theirs.id}`, `/api/v1/update-jobs/${theirs.id}/devices`]) {
          assert.equal((await fixture.api('GET', path, { token: accountToken })).status, 404, path);
        }
        assert.equal((await fixture.api('POST', `/api/v1/update-jobs/${theirs.id}/cancel`, { token: accountToken })).status, 404);
        assert.equal((await fixture.api('GET', `/api/v1/update-jobs/${theirs.id}`)).body.state, 'RUNNING', 'untouched');
        const list = await fixture.api('GET', '/api/v1/update-jobs?limit=1000', { token: accountToken });
        assert.ok((list.body.items as { accountId: string }[]).every((job) => job.accountId === accountId));
        assert.ok((list.body.items as { id: string }[]).some((job) => job.id === own.body.id));
        assert.equal((await fixture.api('GET', `/api/v1/update-jobs?accountId=${otherAccountId}`, { token: accountToken })).status, 403);
      });
    });
  });
}
