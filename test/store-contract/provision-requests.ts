import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { newAccount, newRequest, nextMillisecond, rejectsWith, type FreshStore } from './fixtures.ts';

export function provisionRequestContract(fresh: FreshStore): void {
  describe('provision requests', () => {
    it('creates a request with version 1, job status CREATED, no retries and no attempt in progress', async (t) => {
      const { store } = await fresh(t);
      const account = await store.createAccount(newAccount());
      const input = newRequest(account.id);
      const created = await store.createProvisionRequest(input);
      assert.deepEqual(
        { ...created },
        {
          ...input,
          id: created.id,
          retryCount: 0,
          jobStatus: 'CREATED',
          currentRequestId: null,
          certificateSerial: null,
          category: null,
          tags: [],
          device: { model: null, serial: null, firmware: null },
          createdOn: created.createdOn,
          modifiedOn: created.createdOn,
          modifiedBy: input.createdBy,
          version: 1,
        },
      );
      assert.deepEqual(await store.getProvisionRequest(created.id), created);
    });

    it('round-trips every field exactly, including activatesOn and expiresOn to the millisecond', async (t) => {
      const { store } = await fresh(t);
      const account = await store.createAccount(newAccount());
      const configuration = await store.createConfiguration({ accountId: account.id, name: 'c', content: { a: [1, { b: null }] } });
      const input = newRequest(account.id, {
        clientId: 'AA:BB:CC:00:11:22 ünïcode/+#',
        activationKeyHash: 'scrypt$512$8$1$a2V5$a2V5aGFzaA',
        activatesOn: 1_700_000_000_123,
        expiresOn: 4_102_444_800_999,
        retryMaxAttempts: -1,
        overwriteIfDuplicate: true,
        status: 'DISABLED',
        configurationId: configuration.id,
        bundleIds: ['b1', 'b2', 'b3', 'b4', 'b5', 'b6', 'b7', 'b8', 'b9'],
      });
      const created = await store.createProvisionRequest(input);
      const read = await store.getProvisionRequest(created.id);
      assert.deepEqual(read, created);
      assert.equal(read?.activatesOn, 1_700_000_000_123);
      assert.equal(read?.expiresOn, 4_102_444_800_999);
      assert.equal(read?.overwriteIfDuplicate, true);
      const updated = await store.updateProvisionRequest(created.id, 1, {
        modifiedBy: 'provisioner',
        expiresOn: 1_700_000_000_001,
        currentRequestId: 'req-1',
        certificateSerial: '00ff10',
        retryCount: 2,
        jobStatus: 'CONF_UPDATING',
        activationKeyHash: null,
        overwriteIfDuplicate: false,
        bundleIds: [],
        configurationId: null,
        device: { model: 'ReliaGATE 10-12 ünïcode', serial: 'SN-0042', firmware: '5.4.0' },
      });
      assert.deepEqual(await store.getProvisionRequest(created.id), updated);
      assert.equal(updated.expiresOn, 1_700_000_000_001);
      assert.deepEqual(updated.device, { model: 'ReliaGATE 10-12 ünïcode', serial: 'SN-0042', firmware: '5.4.0' });
    });

    it('has no device facts before any attempt: created alone, in a batch or as a replacement', async (t) => {
      const { store } = await fresh(t);
      const account = await store.createAccount(newAccount());
      const none = { model: null, serial: null, firmware: null };
      const single = await store.createProvisionRequest(newRequest(account.id, { overwriteIfDuplicate: true }));
      const batch = await store.createProvisionRequests([newRequest(account.id), newRequest(account.id)]);
      const replacement = await store.replaceProvisionRequest(single.id, newRequest(account.id, { clientId: single.clientId }));
      assert.deepEqual(single.device, none);
      const stored = [replacement, ...batch.map((item) => (item.ok ? item.request : assert.fail(item.error.message)))];
      for (const request of stored) {
        assert.deepEqual(request.device, none);
        assert.deepEqual((await store.getProvisionRequest(request.id))?.device, none);
      }
      const listed = await store.listProvisionRequests({ accountId: account.id });
      assert.deepEqual(
        listed.items.map((request) => request.device),
        [none, none, none],
      );
    });

    it('records the device facts of the last attempt: each patch replaces all three, a fact left out becomes null', async (t) => {
      const { store } = await fresh(t);
      const account = await store.createAccount(newAccount());
      const created = await store.createProvisionRequest(newRequest(account.id));
      const first = await store.updateProvisionRequest(created.id, 1, {
        modifiedBy: 'provisioner',
        jobStatus: 'STARTED',
        device: { model: 'ReliaGATE 10-12', serial: 'SN-0042', firmware: '5.4.0' },
      });
      assert.deepEqual(first.device, { model: 'ReliaGATE 10-12', serial: 'SN-0042', firmware: '5.4.0' });
      assert.deepEqual(await store.getProvisionRequest(created.id), first);
      assert.deepEqual(await store.findEnabledProvisionRequest(created.clientId), first);
      // A provision message's facts have absent members, not null ones (protocol/messages.ts).
      const second = await store.updateProvisionRequest(created.id, 2, { modifiedBy: 'provisioner', device: { firmware: '5.5.0' } });
      assert.deepEqual(second.device, { model: null, serial: null, firmware: '5.5.0' });
      assert.deepEqual(await store.getProvisionRequest(created.id), second);
      const extra = { model: 'm', serial: 's', firmware: 'f', secret: 'dropped' } as { model: string; serial: string; firmware: string };
      const third = await store.updateProvisionRequest(created.id, 3, { modifiedBy: 'provisioner', device: extra });
      assert.deepEqual(third.device, { model: 'm', serial: 's', firmware: 'f' }, 'only the three facts are kept');
      assert.deepEqual(await store.getProvisionRequest(created.id), third);
      const cleared = await store.updateProvisionRequest(created.id, 4, { modifiedBy: 'provisioner', device: {} });
      assert.deepEqual(cleared.device, { model: null, serial: null, firmware: null });
      assert.deepEqual(await store.getProvisionRequest(created.id), cleared);
    });

    it('keeps the device facts through an update that does not name them', async (t) => {
      const { store } = await fresh(t);
      const account = await store.createAccount(newAccount());
      const created = await store.createProvisionRequest(newRequest(account.id));
      const facts = { model: 'ReliaGATE 10-12', serial: 'SN-0042', firmware: '5.4.0' };
      await store.updateProvisionRequest(created.id, 1, { modifiedBy: 'provisioner', device: facts });
      const later = await store.updateProvisionRequest(created.id, 2, {
        modifiedBy: 'provisioner',
        jobStatus: 'COMPLETED',
        status: 'DISABLED',
        device: undefined,
      });
      assert.deepEqual(later.device, facts);
      assert.deepEqual(await store.getProvisionRequest(created.id), later);
      const listed = await store.listProvisionRequests({ accountId: account.id, statuses: ['DISABLED'] });
      assert.deepEqual(listed.items, [later]);
    });

    it('answers null for an unknown request id', async (t) => {
      const { store } = await fresh(t);
      assert.equal(await store.getProvisionRequest('no-such-id'), null);
    });

    it('refuses a request for an account that does not exist', async (t) => {
      const { store } = await fresh(t);
      await rejectsWith(store.createProvisionRequest(newRequest('no-such-account')), 'NOT_FOUND');
    });

    it('refuses a second request for the same clientId in the same account, even a DISABLED one', async (t) => {
      const { store } = await fresh(t);
      const account = await store.createAccount(newAccount());
      const first = await store.createProvisionRequest(newRequest(account.id, { status: 'DISABLED' }));
      const again = newRequest(account.id, { clientId: first.clientId, status: 'DISABLED' });
      await rejectsWith(store.createProvisionRequest(again), 'DUPLICATE');
      assert.equal((await store.listProvisionRequests({ accountId: account.id })).total, 1);
    });

    it('refuses a second ENABLED request for the same clientId in another account', async (t) => {
      const { store } = await fresh(t);
      const [one, two] = [await store.createAccount(newAccount()), await store.createAccount(newAccount())];
      const first = await store.createProvisionRequest(newRequest(one.id));
      await rejectsWith(store.createProvisionRequest(newRequest(two.id, { clientId: first.clientId })), 'DUPLICATE');
      assert.equal((await store.listProvisionRequests({ accountId: two.id })).total, 0);
    });

    it('allows a DISABLED request for a clientId that is ENABLED in another account', async (t) => {
      const { store } = await fresh(t);
      const [one, two] = [await store.createAccount(newAccount()), await store.createAccount(newAccount())];
      const enabled = await store.createProvisionRequest(newRequest(one.id));
      const disabled = await store.createProvisionRequest(newRequest(two.id, { clientId: enabled.clientId, status: 'DISABLED' }));
      assert.equal(disabled.status, 'DISABLED');
      assert.deepEqual(await store.findEnabledProvisionRequest(enabled.clientId), enabled);
    });

    it('finds the ENABLED request of a clientId even after it expired: expiry is judged by the caller', async (t) => {
      const { store } = await fresh(t);
      const account = await store.createAccount(newAccount());
      const expired = await store.createProvisionRequest(newRequest(account.id, { activatesOn: 1000, expiresOn: 2000 }));
      assert.deepEqual(await store.findEnabledProvisionRequest(expired.clientId), expired);
    });

    it('finds no enabled request for a clientId that has only DISABLED requests or none', async (t) => {
      const { store } = await fresh(t);
      const account = await store.createAccount(newAccount());
      const disabled = await store.createProvisionRequest(newRequest(account.id, { status: 'DISABLED' }));
      assert.equal(await store.findEnabledProvisionRequest(disabled.clientId), null);
      assert.equal(await store.findEnabledProvisionRequest('never-seen'), null);
    });

    it('updates a request that still has the expected version, bumping version, modifiedOn and modifiedBy', async (t) => {
      const { store } = await fresh(t);
      const account = await store.createAccount(newAccount());
      const created = await store.createProvisionRequest(newRequest(account.id));
      await nextMillisecond();
      const updated = await store.updateProvisionRequest(created.id, 1, { modifiedBy: 'provisioner', jobStatus: 'STARTED', retryCount: 1 });
      assert.equal(updated.version, 2);
      assert.equal(updated.modifiedBy, 'provisioner');
      assert.ok(updated.modifiedOn > created.modifiedOn);
      assert.deepEqual(
        { ...updated, version: 1, modifiedBy: created.modifiedBy, modifiedOn: created.modifiedOn, jobStatus: 'CREATED', retryCount: 0 },
        { ...created },
        'only the patched fields change',
      );
      assert.deepEqual(await store.getProvisionRequest(created.id), updated);
    });

    it('refuses an update with a stale version and keeps the stored request', async (t) => {
      const { store } = await fresh(t);
      const account = await store.createAccount(newAccount());
      const created = await store.createProvisionRequest(newRequest(account.id));
      const winner = await store.updateProvisionRequest(created.id, 1, { modifiedBy: 'a', jobStatus: 'RUNNING' });
      await rejectsWith(store.updateProvisionRequest(created.id, 1, { modifiedBy: 'b', jobStatus: 'FAILED' }), 'VERSION_CONFLICT');
      await rejectsWith(store.updateProvisionRequest(created.id, 3, { modifiedBy: 'b', jobStatus: 'FAILED' }), 'VERSION_CONFLICT');
      assert.deepEqual(await store.getProvisionRequest(created.id), winner);
    });

    it('answers NOT_FOUND when updating a request that was deleted', async (t) => {
      const { store } = await fresh(t);
      const account = await store.createAccount(newAccount());
      const created = await store.createProvisionRequest(newRequest(account.id));
      await store.deleteProvisionRequest(created.id);
      await rejectsWith(store.updateProvisionRequest(created.id, 1, { modifiedBy: 'a', status: 'DISABLED' }), 'NOT_FOUND');
    });

    it('refuses enabling a request whose clientId is ENABLED in another account, leaving it DISABLED', async (t) => {
      const { store } = await fresh(t);
      const [one, two] = [await store.createAccount(newAccount()), await store.createAccount(newAccount())];
      const enabled = await store.createProvisionRequest(newRequest(one.id));
      const disabled = await store.createProvisionRequest(newRequest(two.id, { clientId: enabled.clientId, status: 'DISABLED' }));
      await rejectsWith(store.updateProvisionRequest(disabled.id, 1, { modifiedBy: 'admin', status: 'ENABLED' }), 'DUPLICATE');
      assert.deepEqual(await store.getProvisionRequest(disabled.id), disabled);
      assert.deepEqual(await store.findEnabledProvisionRequest(enabled.clientId), enabled);
    });

    it('lets another account enable a clientId once its ENABLED request is disabled', async (t) => {
      const { store } = await fresh(t);
      const [one, two] = [await store.createAccount(newAccount()), await store.createAccount(newAccount())];
      const first = await store.createProvisionRequest(newRequest(one.id));
      const second = await store.createProvisionRequest(newRequest(two.id, { clientId: first.clientId, status: 'DISABLED' }));
      await store.updateProvisionRequest(first.id, 1, { modifiedBy: 'provisioner', status: 'DISABLED', jobStatus: 'COMPLETED' });
      assert.equal(await store.findEnabledProvisionRequest(first.clientId), null);
      const enabled = await store.updateProvisionRequest(second.id, 1, { modifiedBy: 'admin', status: 'ENABLED' });
      assert.deepEqual(await store.findEnabledProvisionRequest(first.clientId), enabled);
      await rejectsWith(store.updateProvisionRequest(first.id, 2, { modifiedBy: 'admin', status: 'ENABLED' }), 'DUPLICATE');
    });

    it('moves the uniqueness of a request whose clientId changes: the old clientId is free, the new one taken', async (t) => {
      const { store } = await fresh(t);
      const [one, two] = [await store.createAccount(newAccount()), await store.createAccount(newAccount())];
      const request = await store.createProvisionRequest(newRequest(one.id));
      const moved = await store.updateProvisionRequest(request.id, 1, { modifiedBy: 'admin', clientId: 'moved-device' });
      assert.equal(await store.findEnabledProvisionRequest(request.clientId), null);
      assert.deepEqual(await store.findEnabledProvisionRequest('moved-device'), moved);
      await store.createProvisionRequest(newRequest(one.id, { clientId: request.clientId }));
      await rejectsWith(store.createProvisionRequest(newRequest(one.id, { clientId: 'moved-device', status: 'DISABLED' })), 'DUPLICATE');
      await rejectsWith(store.createProvisionRequest(newRequest(two.id, { clientId: 'moved-device' })), 'DUPLICATE');
    });

    it('refuses changing a request to a clientId its account already uses', async (t) => {
      const { store } = await fresh(t);
      const account = await store.createAccount(newAccount());
      const first = await store.createProvisionRequest(newRequest(account.id, { status: 'DISABLED' }));
      const second = await store.createProvisionRequest(newRequest(account.id, { status: 'DISABLED' }));
      await rejectsWith(store.updateProvisionRequest(second.id, 1, { modifiedBy: 'admin', clientId: first.clientId }), 'DUPLICATE');
      assert.deepEqual(await store.getProvisionRequest(second.id), second);
    });

    it('deletes a request and frees its clientId; deleting it again is NOT_FOUND', async (t) => {
      const { store } = await fresh(t);
      const [one, two] = [await store.createAccount(newAccount()), await store.createAccount(newAccount())];
      const request = await store.createProvisionRequest(newRequest(one.id));
      await store.deleteProvisionRequest(request.id);
      assert.equal(await store.getProvisionRequest(request.id), null);
      assert.equal(await store.findEnabledProvisionRequest(request.clientId), null);
      assert.equal((await store.listProvisionRequests({ accountId: one.id })).total, 0);
      await rejectsWith(store.deleteProvisionRequest(request.id), 'NOT_FOUND');
      await store.createProvisionRequest(newRequest(one.id, { clientId: request.clientId, status: 'DISABLED' }));
      await store.createProvisionRequest(newRequest(two.id, { clientId: request.clientId }));
    });

    it('replaces a request in one step: the old one is gone and the new one holds the clientId', async (t) => {
      const { store } = await fresh(t);
      const account = await store.createAccount(newAccount());
      const old = await store.createProvisionRequest(newRequest(account.id, { overwriteIfDuplicate: true }));
      const replacement = await store.replaceProvisionRequest(old.id, newRequest(account.id, { clientId: old.clientId, username: 'new-user' }));
      assert.notEqual(replacement.id, old.id);
      assert.equal(replacement.version, 1);
      assert.equal(replacement.jobStatus, 'CREATED');
      assert.equal(await store.getProvisionRequest(old.id), null);
      assert.deepEqual(await store.getProvisionRequest(replacement.id), replacement);
      assert.deepEqual(await store.findEnabledProvisionRequest(old.clientId), replacement);
      const listed = await store.listProvisionRequests({ accountId: account.id });
      assert.deepEqual(listed.items, [replacement]);
    });

    it('refuses a replacement whose clientId is ENABLED in another account and keeps the old request', async (t) => {
      const { store } = await fresh(t);
      const [one, two] = [await store.createAccount(newAccount()), await store.createAccount(newAccount())];
      const elsewhere = await store.createProvisionRequest(newRequest(one.id));
      const old = await store.createProvisionRequest(newRequest(two.id, { status: 'DISABLED' }));
      await rejectsWith(store.replaceProvisionRequest(old.id, newRequest(two.id, { clientId: elsewhere.clientId })), 'DUPLICATE');
      assert.deepEqual(await store.getProvisionRequest(old.id), old);
      assert.equal((await store.listProvisionRequests({ accountId: two.id })).total, 1);
    });

    it('answers NOT_FOUND when replacing an unknown request', async (t) => {
      const { store } = await fresh(t);
      const account = await store.createAccount(newAccount());
      await rejectsWith(store.replaceProvisionRequest('no-such-id', newRequest(account.id)), 'NOT_FOUND');
      assert.equal((await store.listProvisionRequests()).total, 0);
    });
  });
}
