import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { refusal } from '../../store/records.ts';
import type { NewAuditEvent, ProvisionRequest, ProvisionRequestCreation } from '../../store/types.ts';
import { newAccount, newRequest, type FreshStore } from './fixtures.ts';

/** The audit event the admin API stores with each created request. */
function createdEvent(request: ProvisionRequest, index: number): NewAuditEvent {
  return {
    type: 'request.created',
    outcome: 'success',
    actor: 'admin',
    accountId: request.accountId,
    clientId: request.clientId,
    provisionRequestId: request.id,
    detail: { index, batch: true },
  };
}

/** Each outcome as `created` or `CODE: detail`, for comparing a batch's answers at a glance. */
function outcomes(creations: readonly ProvisionRequestCreation[]): string[] {
  return creations.map((creation) => (creation.ok ? 'created' : `${creation.error.code}: ${creation.error.detail}`));
}

function created(creations: readonly ProvisionRequestCreation[]): ProvisionRequest[] {
  return creations.flatMap((creation) => (creation.ok ? [creation.request] : []));
}

export function requestBatchContract(fresh: FreshStore): void {
  describe('provision requests created in batches', () => {
    it('creates every item as createProvisionRequest would, answering in input order', async (t) => {
      const { store } = await fresh(t);
      const account = await store.createAccount(newAccount());
      const inputs = Array.from({ length: 5 }, (_, i) => newRequest(account.id, { clientId: `batch-${i}`, status: i === 4 ? 'DISABLED' : 'ENABLED' }));
      const creations = await store.createProvisionRequests(inputs);
      const requests = created(creations);
      assert.deepEqual(
        requests.map((request) => request.clientId),
        inputs.map((input) => input.clientId),
      );
      for (const [i, request] of requests.entries()) {
        assert.deepEqual(
          { ...request },
          {
            ...inputs[i],
            id: request.id,
            retryCount: 0,
            jobStatus: 'CREATED',
            currentRequestId: null,
            certificateSerial: null,
            category: null,
            tags: [],
            device: { model: null, serial: null, firmware: null },
            createdOn: request.createdOn,
            modifiedOn: request.createdOn,
            modifiedBy: inputs[i]!.createdBy,
            version: 1,
          },
        );
        assert.deepEqual(await store.getProvisionRequest(request.id), request);
      }
      assert.equal(new Set(requests.map((request) => request.id)).size, 5, 'each gets its own id');
      for (const { id, createdOn } of requests) {
        // UUID version 7: ids made one after another sort together, which keeps index inserts local.
        assert.match(id, /^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
        assert.equal(parseInt(id.replace(/-/g, '').slice(0, 12), 16), createdOn, 'the id starts with its creation time');
      }
      assert.deepEqual(await store.findEnabledProvisionRequest('batch-0'), requests[0]);
      assert.equal(await store.findEnabledProvisionRequest('batch-4'), null);
      assert.equal((await store.listProvisionRequests({ accountId: account.id })).total, 5);
      assert.deepEqual(await store.createProvisionRequests([]), []);
    });

    it('refuses items on their own with the errors of createProvisionRequest and creates the rest', async (t) => {
      const { store } = await fresh(t);
      const [one, two] = [await store.createAccount(newAccount()), await store.createAccount(newAccount())];
      const taken = await store.createProvisionRequest(newRequest(one.id, { clientId: 'taken', status: 'DISABLED' }));
      const enabledElsewhere = await store.createProvisionRequest(newRequest(two.id, { clientId: 'enabled-in-two' }));
      const creations = await store.createProvisionRequests([
        newRequest(one.id, { clientId: 'fine-1' }),
        newRequest(one.id, { clientId: 'taken', status: 'DISABLED' }),
        newRequest(one.id, { clientId: 'enabled-in-two' }),
        newRequest('no-such-account', { clientId: 'orphan' }),
        newRequest(one.id, { clientId: 'enabled-in-two-but-disabled', status: 'DISABLED' }),
        newRequest(one.id, { clientId: 'fine-2' }),
      ]);
      assert.deepEqual(outcomes(creations), [
        'created',
        `DUPLICATE: ${refusal.clientIdTakenInAccount}`,
        `DUPLICATE: ${refusal.clientIdEnabledElsewhere}`,
        `NOT_FOUND: ${refusal.accountNotFound}`,
        'created',
        'created',
      ]);
      assert.deepEqual(await store.getProvisionRequest(taken.id), taken, 'a refused item leaves the existing request alone');
      assert.deepEqual(await store.findEnabledProvisionRequest('enabled-in-two'), enabledElsewhere);
      assert.equal((await store.listProvisionRequests({ clientIds: ['orphan'] })).total, 0);
      assert.deepEqual((await store.listProvisionRequests({ accountId: one.id, limit: 10 })).items.map((request) => request.clientId).sort(), [
        'enabled-in-two-but-disabled',
        'fine-1',
        'fine-2',
        'taken',
      ]);
    });

    it('lets a later item see the earlier ones, as one call after the other would', async (t) => {
      const { store } = await fresh(t);
      const [one, two] = [await store.createAccount(newAccount()), await store.createAccount(newAccount())];
      const creations = await store.createProvisionRequests([
        newRequest(one.id, { clientId: 'twice-in-account' }),
        newRequest(one.id, { clientId: 'twice-in-account', status: 'DISABLED' }),
        newRequest(one.id, { clientId: 'enabled-twice' }),
        newRequest(two.id, { clientId: 'enabled-twice' }),
        newRequest(two.id, { clientId: 'enabled-twice', status: 'DISABLED' }),
      ]);
      assert.deepEqual(outcomes(creations), [
        'created',
        `DUPLICATE: ${refusal.clientIdTakenInAccount}`,
        'created',
        `DUPLICATE: ${refusal.clientIdEnabledElsewhere}`,
        'created',
      ]);
      assert.equal((await store.findEnabledProvisionRequest('enabled-twice'))?.accountId, one.id);
      assert.equal((await store.listProvisionRequests({ clientIds: ['enabled-twice'] })).total, 2);
    });

    it('stores the audit event of each created request, and none for a refused one', async (t) => {
      const { store } = await fresh(t);
      const account = await store.createAccount(newAccount());
      await store.createProvisionRequest(newRequest(account.id, { clientId: 'taken' }));
      const creations = await store.createProvisionRequests(
        [newRequest(account.id, { clientId: 'a' }), newRequest(account.id, { clientId: 'taken' }), newRequest(account.id, { clientId: 'b' })],
        { auditEvent: createdEvent },
      );
      const [a, , b] = creations.map((creation) => (creation.ok ? creation.request : null));
      assert.ok(a && b);
      const events = (await store.listAudit()).items;
      assert.deepEqual(
        events.map(({ id, time, ...event }) => {
          assert.ok(Number(id) > 0 && time > 0);
          return event;
        }),
        [createdEvent(a, 0), createdEvent(b, 2)],
        'in input order, with the index of the item',
      );
      await store.createProvisionRequests([newRequest(account.id)]);
      assert.equal((await store.listAudit()).total, 2, 'no audit event unless asked for');
    });

    it('keeps input order and every item of a batch larger than any backend chunk', async (t) => {
      const { store } = await fresh(t);
      const account = await store.createAccount(newAccount());
      const inputs = Array.from({ length: 1000 }, (_, i) => newRequest(account.id, { clientId: `fleet-${String(i).padStart(4, '0')}` }));
      inputs[500] = newRequest('no-such-account', { clientId: 'orphan' });
      const creations = await store.createProvisionRequests(inputs, { auditEvent: createdEvent });
      assert.equal(creations.length, 1000);
      assert.deepEqual(
        creations.map((creation) => (creation.ok ? creation.request.clientId : creation.error.code)),
        inputs.map((input, i) => (i === 500 ? 'NOT_FOUND' : input.clientId)),
      );
      assert.equal((await store.listProvisionRequests({ accountId: account.id, limit: 0 })).total, 999);
      const events = (await store.listAudit({ limit: 1000 })).items;
      assert.equal(events.length, 999);
      assert.deepEqual(
        events.map((event) => event.detail['index']),
        inputs.flatMap((_, i) => (i === 500 ? [] : [i])),
      );
    });

    it('shows another handle the whole batch once the call has answered', async (t) => {
      const { store, openAnother } = await fresh(t);
      const account = await store.createAccount(newAccount());
      const requests = created(await store.createProvisionRequests([newRequest(account.id), newRequest(account.id)], { auditEvent: createdEvent }));
      await store.close();
      const reopened = await openAnother();
      t.after(() => reopened.close());
      for (const request of requests) assert.deepEqual(await reopened.getProvisionRequest(request.id), request);
      assert.equal((await reopened.listAudit()).total, 2);
    });

    it('gives each clientId to exactly one of two handles creating the same batch at once', async (t) => {
      const { store, openAnother } = await fresh(t);
      const other = await openAnother();
      t.after(() => other.close());
      const [one, two] = [await store.createAccount(newAccount()), await store.createAccount(newAccount())];
      const clientIds = Array.from({ length: 300 }, (_, i) => `contested-${i}`);
      const [first, second] = await Promise.all([
        store.createProvisionRequests(clientIds.map((clientId) => newRequest(one.id, { clientId }))),
        other.createProvisionRequests(clientIds.map((clientId) => newRequest(two.id, { clientId }))),
      ]);
      for (let i = 0; i < clientIds.length; i++) {
        assert.equal([first[i]!.ok, second[i]!.ok].filter(Boolean).length, 1, `${clientIds[i]} has one winner`);
      }
      assert.equal((await store.listProvisionRequests({ statuses: ['ENABLED'], limit: 0 })).total, 300);
    });

    it('fails with STORE_UNAVAILABLE and keeps nothing once the store is closed', async (t) => {
      const { store, openAnother } = await fresh(t);
      const account = await store.createAccount(newAccount());
      await store.close();
      const codes = await store.createProvisionRequests([newRequest(account.id), newRequest(account.id)]).then(
        (creations) => creations.map((creation) => (creation.ok ? 'created' : creation.error.code)),
        (error: { code?: string }) => [error.code, error.code],
      );
      assert.deepEqual(codes, ['STORE_UNAVAILABLE', 'STORE_UNAVAILABLE']);
      const reopened = await openAnother();
      t.after(() => reopened.close());
      assert.equal((await reopened.listProvisionRequests({ limit: 0 })).total, 0);
    });
  });
}
