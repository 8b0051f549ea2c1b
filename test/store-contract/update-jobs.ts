import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { refusal } from '../../store/records.ts';
import type { NewUpdateJob, ProvisionStore, UpdateJob } from '../../store/types.ts';
import { ids, newAccount, nextMillisecond, rejectsWith, type FreshStore } from './fixtures.ts';

function newJob(accountId: string, overrides: Partial<NewUpdateJob> = {}): NewUpdateJob {
  return {
    accountId,
    name: 'roll out telemetry 2.1',
    category: null,
    tags: [],
    clientIds: [],
    bundleIds: ['bundle-1'],
    configurationId: null,
    configurationVersion: null,
    failureThreshold: null,
    createdBy: 'admin',
    ...overrides,
  };
}

/** Jobs made one millisecond apart, so "newest first" has one answer. */
async function createJobs(store: ProvisionStore, inputs: readonly NewUpdateJob[]): Promise<UpdateJob[]> {
  const jobs: UpdateJob[] = [];
  for (const input of inputs) {
    await nextMillisecond();
    jobs.push(await store.createUpdateJob(input));
  }
  return jobs;
}

/** Update jobs and where each device stands in them (issue 15 §4). */
export function updateJobContract(fresh: FreshStore): void {
  describe('update jobs', () => {
    it('creates a job RUNNING at version 1 with its tags sorted and without repeats', async (t) => {
      const { store } = await fresh(t);
      const account = await store.createAccount(newAccount());
      const input = newJob(account.id, { tags: ['roof', 'north', 'roof'] });
      const created = await store.createUpdateJob(input);
      assert.deepEqual(
        { ...created },
        { ...input, tags: ['north', 'roof'], id: created.id, state: 'RUNNING', createdOn: created.createdOn, modifiedOn: created.createdOn, version: 1 },
      );
      assert.ok(created.id.length > 0);
      assert.deepEqual(await store.getUpdateJob(created.id), created);
    });

    it('keeps every target and payload field as given, and a given state', async (t) => {
      const { store } = await fresh(t);
      const account = await store.createAccount(newAccount());
      const configuration = await store.createConfiguration({ accountId: account.id, name: 'c', content: {} });
      const input = newJob(account.id, {
        name: 'ünïcode job',
        category: 'sensors',
        tags: ['a'],
        clientIds: ['device-2', 'device-1'],
        bundleIds: ['b1', 'b2'],
        configurationId: configuration.id,
        configurationVersion: 1,
        failureThreshold: 3,
        createdBy: 'operator',
        state: 'PAUSED',
      });
      const created = await store.createUpdateJob(input);
      assert.deepEqual({ ...created }, { ...input, id: created.id, createdOn: created.createdOn, modifiedOn: created.createdOn, version: 1 });
      assert.deepEqual(await store.getUpdateJob(created.id), created);
    });

    it('answers null for an unknown job', async (t) => {
      const { store } = await fresh(t);
      assert.equal(await store.getUpdateJob('no-such-id'), null);
    });

    it('lists jobs newest first, filtered by account and states, paged with the total', async (t) => {
      const { store } = await fresh(t);
      const [one, two] = [await store.createAccount(newAccount()), await store.createAccount(newAccount())];
      const jobs = await createJobs(store, [
        newJob(one.id, { name: 'j0' }),
        newJob(two.id, { name: 'j1' }),
        newJob(one.id, { name: 'j2', state: 'PAUSED' }),
        newJob(one.id, { name: 'j3', state: 'CANCELLED' }),
        newJob(two.id, { name: 'j4', state: 'STOPPED' }),
        newJob(one.id, { name: 'j5' }),
      ]);
      const newestFirst = (keep: (job: UpdateJob) => boolean) => [...jobs].reverse().filter(keep);
      assert.deepEqual(await store.listUpdateJobs(), { items: newestFirst(() => true), total: 6, offset: 0, limit: 50 });
      assert.deepEqual(await store.listUpdateJobs({}), await store.listUpdateJobs());
      assert.deepEqual(
        (await store.listUpdateJobs({ accountId: one.id })).items,
        newestFirst((job) => job.accountId === one.id),
      );
      assert.equal((await store.listUpdateJobs({ accountId: one.id })).total, 4);
      assert.deepEqual(
        (await store.listUpdateJobs({ states: ['RUNNING'] })).items,
        newestFirst((job) => job.state === 'RUNNING'),
      );
      const finished = await store.listUpdateJobs({ states: ['CANCELLED', 'STOPPED'] });
      assert.deepEqual(
        finished.items,
        newestFirst((job) => job.state === 'CANCELLED' || job.state === 'STOPPED'),
      );
      assert.equal(finished.total, 2);
      assert.deepEqual(
        (await store.listUpdateJobs({ accountId: one.id, states: ['RUNNING', 'PAUSED'] })).items,
        newestFirst((job) => job.accountId === one.id && (job.state === 'RUNNING' || job.state === 'PAUSED')),
      );
      assert.equal((await store.listUpdateJobs({ states: [] })).total, 6, 'an empty list of states is no filter');
      assert.deepEqual(await store.listUpdateJobs({ accountId: one.id, offset: 1, limit: 2 }), {
        items: newestFirst((job) => job.accountId === one.id).slice(1, 3),
        total: 4,
        offset: 1,
        limit: 2,
      });
      assert.deepEqual(await store.listUpdateJobs({ accountId: 'no-such-account' }), { items: [], total: 0, offset: 0, limit: 50 });
    });

    it('changes only the state of a job that still has the expected version; a stale version is VERSION_CONFLICT', async (t) => {
      const { store } = await fresh(t);
      const account = await store.createAccount(newAccount());
      const created = await store.createUpdateJob(newJob(account.id, { tags: ['t'] }));
      await nextMillisecond();
      const paused = await store.updateUpdateJobState(created.id, 1, 'PAUSED');
      assert.ok(paused.modifiedOn > created.modifiedOn);
      assert.deepEqual({ ...paused }, { ...created, state: 'PAUSED', modifiedOn: paused.modifiedOn, version: 2 });
      assert.deepEqual(await store.getUpdateJob(created.id), paused);
      await rejectsWith(store.updateUpdateJobState(created.id, 1, 'CANCELLED'), 'VERSION_CONFLICT', refusal.staleVersion);
      await rejectsWith(store.updateUpdateJobState(created.id, 3, 'CANCELLED'), 'VERSION_CONFLICT', refusal.staleVersion);
      assert.deepEqual(await store.getUpdateJob(created.id), paused);
      const cancelled = await store.updateUpdateJobState(created.id, 2, 'CANCELLED');
      assert.equal(cancelled.version, 3);
      assert.deepEqual((await store.listUpdateJobs({ states: ['CANCELLED'] })).items, [cancelled]);
      assert.equal((await store.listUpdateJobs({ states: ['PAUSED'] })).total, 0);
      await rejectsWith(store.updateUpdateJobState('no-such-id', 1, 'PAUSED'), 'NOT_FOUND', refusal.updateJobNotFound);
    });

    it('creates a device status, then changes it; the error is kept only while given', async (t) => {
      const { store } = await fresh(t);
      const account = await store.createAccount(newAccount());
      const job = await store.createUpdateJob(newJob(account.id));
      assert.equal(await store.getJobDeviceStatus(job.id, 'device-1'), null);
      const before = Date.now();
      const sent = await store.setJobDeviceStatus(job.id, account.id, 'device-1', { state: 'SENT' });
      assert.ok(sent);
      assert.deepEqual({ ...sent }, { jobId: job.id, accountId: account.id, clientId: 'device-1', state: 'SENT', error: null, modifiedOn: sent.modifiedOn });
      assert.ok(sent.modifiedOn >= before && sent.modifiedOn <= Date.now());
      assert.deepEqual(await store.getJobDeviceStatus(job.id, 'device-1'), sent);
      await nextMillisecond();
      const failed = await store.setJobDeviceStatus(job.id, account.id, 'device-1', { state: 'FAILED', error: 'disk full' });
      assert.ok(failed);
      assert.ok(failed.modifiedOn > sent.modifiedOn);
      assert.deepEqual({ ...failed }, { ...sent, state: 'FAILED', error: 'disk full', modifiedOn: failed.modifiedOn });
      assert.deepEqual(await store.getJobDeviceStatus(job.id, 'device-1'), failed);
      const retried = await store.setJobDeviceStatus(job.id, account.id, 'device-1', { state: 'INSTALLED' });
      assert.deepEqual({ ...retried }, { ...failed, state: 'INSTALLED', error: null, modifiedOn: retried?.modifiedOn });
      assert.deepEqual(await store.getJobDeviceStatus(job.id, 'device-1'), retried);
      assert.equal((await store.listJobDevices(job.id)).total, 1, 'one status per device and job');
      assert.equal(await store.getJobDeviceStatus(job.id, 'device-2'), null);
    });

    it('changes a status with onlyFrom only from one of those states, answering null and leaving it otherwise', async (t) => {
      const { store } = await fresh(t);
      const account = await store.createAccount(newAccount());
      const job = await store.createUpdateJob(newJob(account.id));
      const sent = await store.setJobDeviceStatus(job.id, account.id, 'device-1', { state: 'SENT' });
      await nextMillisecond();
      assert.equal(await store.setJobDeviceStatus(job.id, account.id, 'device-1', { state: 'DOWNLOADING' }, ['PENDING']), null);
      assert.equal(await store.setJobDeviceStatus(job.id, account.id, 'device-1', { state: 'FAILED', error: 'x' }, ['DOWNLOADING', 'INSTALLED']), null);
      assert.deepEqual(await store.getJobDeviceStatus(job.id, 'device-1'), sent, 'a refused change leaves the status as it was');
      const downloading = await store.setJobDeviceStatus(job.id, account.id, 'device-1', { state: 'DOWNLOADING' }, ['PENDING', 'SENT']);
      assert.ok(downloading);
      assert.equal(downloading.state, 'DOWNLOADING');
      assert.deepEqual(await store.getJobDeviceStatus(job.id, 'device-1'), downloading);
    });

    it('counts an absent status as PENDING for onlyFrom', async (t) => {
      const { store } = await fresh(t);
      const account = await store.createAccount(newAccount());
      const job = await store.createUpdateJob(newJob(account.id));
      assert.equal(await store.setJobDeviceStatus(job.id, account.id, 'device-1', { state: 'SENT' }, ['SENT', 'DOWNLOADING']), null);
      assert.equal(await store.getJobDeviceStatus(job.id, 'device-1'), null, 'a refused creation creates nothing');
      assert.equal((await store.listJobDevices(job.id)).total, 0);
      const sent = await store.setJobDeviceStatus(job.id, account.id, 'device-1', { state: 'SENT' }, ['PENDING']);
      assert.ok(sent);
      assert.equal(sent.state, 'SENT');
      assert.deepEqual(await store.getJobDeviceStatus(job.id, 'device-1'), sent);
      assert.equal(await store.setJobDeviceStatus(job.id, account.id, 'device-1', { state: 'SENT' }, ['PENDING']), null, 'now it is SENT, not PENDING');
    });

    it('lets exactly one of concurrent changes from the same state win, across handles', async (t) => {
      const { store, openAnother } = await fresh(t);
      const other = await openAnother();
      t.after(() => other.close());
      const account = await store.createAccount(newAccount());
      const job = await store.createUpdateJob(newJob(account.id));
      const answers = await Promise.all(
        Array.from({ length: 6 }, (_, index) =>
          (index % 2 ? other : store).setJobDeviceStatus(
            job.id,
            account.id,
            'contested',
            { state: index % 3 ? 'INSTALLED' : 'FAILED', error: `writer-${index}` },
            ['PENDING'],
          ),
        ),
      );
      const won = answers.filter((answer) => answer !== null);
      assert.equal(won.length, 1, 'one writer moved it out of PENDING');
      assert.deepEqual(await store.getJobDeviceStatus(job.id, 'contested'), won[0]);
    });

    it('answers NOT_FOUND when setting a status in a job that does not exist', async (t) => {
      const { store } = await fresh(t);
      const account = await store.createAccount(newAccount());
      await rejectsWith(store.setJobDeviceStatus('no-such-job', account.id, 'device-1', { state: 'SENT' }), 'NOT_FOUND', refusal.updateJobNotFound);
      await rejectsWith(
        store.setJobDeviceStatus('no-such-job', account.id, 'device-1', { state: 'SENT' }, ['PENDING']),
        'NOT_FOUND',
        refusal.updateJobNotFound,
      );
      assert.equal(await store.getJobDeviceStatus('no-such-job', 'device-1'), null);
      assert.deepEqual(await store.listDeviceJobs(account.id, 'device-1'), []);
    });

    it('lists the devices of a job by clientId, optionally in one state, paged with the total', async (t) => {
      const { store } = await fresh(t);
      const account = await store.createAccount(newAccount());
      const [job, otherJob] = await createJobs(store, [newJob(account.id), newJob(account.id)]);
      assert.ok(job && otherJob);
      const plan = [
        ['dev-c', 'SENT'],
        ['dev-a', 'INSTALLED'],
        ['Dev-z', 'FAILED'],
        ['dev-e', 'SENT'],
        ['dev-b', 'PENDING'],
        ['dev-d', 'SENT'],
      ] as const;
      const statuses = [];
      for (const [clientId, state] of plan) statuses.push(await store.setJobDeviceStatus(job.id, account.id, clientId, { state }));
      await store.setJobDeviceStatus(otherJob.id, account.id, 'dev-a', { state: 'FAILED' });
      const byClientId = statuses
        .flatMap((status) => (status ? [status] : []))
        .sort((a, b) => Buffer.compare(Buffer.from(a.clientId), Buffer.from(b.clientId)));
      assert.deepEqual(
        byClientId.map((status) => status.clientId),
        ['Dev-z', 'dev-a', 'dev-b', 'dev-c', 'dev-d', 'dev-e'],
      );
      assert.deepEqual(await store.listJobDevices(job.id), { items: byClientId, total: 6, offset: 0, limit: 50 });
      assert.deepEqual(await store.listJobDevices(job.id, { offset: 2, limit: 3 }), { items: byClientId.slice(2, 5), total: 6, offset: 2, limit: 3 });
      const sent = byClientId.filter((status) => status.state === 'SENT');
      assert.deepEqual(await store.listJobDevices(job.id, { state: 'SENT' }), { items: sent, total: 3, offset: 0, limit: 50 });
      assert.deepEqual(await store.listJobDevices(job.id, { state: 'SENT', offset: 1, limit: 1 }), { items: sent.slice(1, 2), total: 3, offset: 1, limit: 1 });
      assert.deepEqual(await store.listJobDevices(job.id, { state: 'DOWNLOADING' }), { items: [], total: 0, offset: 0, limit: 50 });
      assert.deepEqual((await store.listJobDevices(otherJob.id)).items, [await store.getJobDeviceStatus(otherJob.id, 'dev-a')]);
      // A device that changes state is listed under its new state.
      await store.setJobDeviceStatus(job.id, account.id, 'dev-c', { state: 'INSTALLED' });
      assert.deepEqual(
        (await store.listJobDevices(job.id, { state: 'SENT' })).items.map((status) => status.clientId),
        ['dev-d', 'dev-e'],
      );
      assert.deepEqual(
        (await store.listJobDevices(job.id, { state: 'INSTALLED' })).items.map((status) => status.clientId),
        ['dev-a', 'dev-c'],
      );
    });

    it('counts the devices of a job in every state, 0 where none', async (t) => {
      const { store } = await fresh(t);
      const account = await store.createAccount(newAccount());
      const [job, otherJob] = await createJobs(store, [newJob(account.id), newJob(account.id)]);
      assert.ok(job && otherJob);
      const none = { PENDING: 0, SENT: 0, DOWNLOADING: 0, INSTALLED: 0, FAILED: 0 };
      assert.deepEqual({ ...(await store.countJobDevices(job.id)) }, none);
      const plan = [
        ['d1', 'SENT'],
        ['d2', 'SENT'],
        ['d3', 'FAILED'],
        ['d4', 'INSTALLED'],
        ['d5', 'SENT'],
        ['d6', 'PENDING'],
      ] as const;
      for (const [clientId, state] of plan) await store.setJobDeviceStatus(job.id, account.id, clientId, { state });
      await store.setJobDeviceStatus(otherJob.id, account.id, 'd1', { state: 'DOWNLOADING' });
      assert.deepEqual({ ...(await store.countJobDevices(job.id)) }, { PENDING: 1, SENT: 3, DOWNLOADING: 0, INSTALLED: 1, FAILED: 1 });
      await store.setJobDeviceStatus(job.id, account.id, 'd1', { state: 'INSTALLED' });
      await store.setJobDeviceStatus(job.id, account.id, 'd2', { state: 'DOWNLOADING' }, ['SENT']);
      assert.deepEqual({ ...(await store.countJobDevices(job.id)) }, { PENDING: 1, SENT: 1, DOWNLOADING: 1, INSTALLED: 2, FAILED: 1 });
      assert.deepEqual({ ...(await store.countJobDevices(otherJob.id)) }, { ...none, DOWNLOADING: 1 });
    });

    it("lists a device's statuses across jobs, newest job first, only of that account and clientId", async (t) => {
      const { store } = await fresh(t);
      const [one, two] = [await store.createAccount(newAccount()), await store.createAccount(newAccount())];
      const [first, second, third, elsewhere] = await createJobs(store, [newJob(one.id), newJob(one.id), newJob(one.id), newJob(two.id)]);
      assert.ok(first && second && third && elsewhere);
      // Touched in the third job before the first, so the order is the jobs', not the statuses'.
      const inThird = await store.setJobDeviceStatus(third.id, one.id, 'device-1', { state: 'SENT' });
      await nextMillisecond();
      const inFirst = await store.setJobDeviceStatus(first.id, one.id, 'device-1', { state: 'FAILED', error: 'refused' });
      await store.setJobDeviceStatus(second.id, one.id, 'device-2', { state: 'SENT' });
      await store.setJobDeviceStatus(elsewhere.id, two.id, 'device-1', { state: 'INSTALLED' });
      assert.deepEqual(await store.listDeviceJobs(one.id, 'device-1'), [inThird, inFirst]);
      assert.deepEqual(
        (await store.listDeviceJobs(two.id, 'device-1')).map((status) => status.jobId),
        [elsewhere.id],
      );
      assert.deepEqual(
        (await store.listDeviceJobs(one.id, 'device-2')).map((status) => status.jobId),
        ids([second]),
      );
      assert.deepEqual(await store.listDeviceJobs(one.id, 'device-3'), []);
      const installed = await store.setJobDeviceStatus(third.id, one.id, 'device-1', { state: 'INSTALLED' });
      assert.deepEqual(await store.listDeviceJobs(one.id, 'device-1'), [installed, inFirst], 'a changed status is listed as it now is');
    });

    it('keeps jobs and device statuses after close and reopen', async (t) => {
      const { store, openAnother } = await fresh(t);
      const account = await store.createAccount(newAccount());
      const job = await store.createUpdateJob(newJob(account.id, { tags: ['b', 'a'] }));
      const paused = await store.updateUpdateJobState(job.id, 1, 'PAUSED');
      const status = await store.setJobDeviceStatus(job.id, account.id, 'device-1', { state: 'FAILED', error: 'e' });
      await store.close();
      const reopened = await openAnother();
      t.after(() => reopened.close());
      assert.deepEqual(await reopened.getUpdateJob(job.id), paused);
      assert.deepEqual((await reopened.listUpdateJobs({ accountId: account.id })).items, [paused]);
      assert.deepEqual(await reopened.getJobDeviceStatus(job.id, 'device-1'), status);
      assert.deepEqual(await reopened.listDeviceJobs(account.id, 'device-1'), [status]);
      assert.equal((await reopened.countJobDevices(job.id)).FAILED, 1);
    });
  });
}
