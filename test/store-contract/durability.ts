import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { newAccount, newCertificate, newRequest, rejectsWith, type FreshStore } from './fixtures.ts';

export function durabilityContract(fresh: FreshStore): void {
  describe('durability', () => {
    it('keeps every kind of record after close and reopen', async (t) => {
      const { store, openAnother } = await fresh(t);
      const account = await store.createAccount(newAccount());
      const request = await store.createProvisionRequest(newRequest(account.id));
      const updated = await store.updateProvisionRequest(request.id, 1, { modifiedBy: 'provisioner', jobStatus: 'RUNNING' });
      const configuration = await store.createConfiguration({ accountId: account.id, name: 'c', content: { k: 'v' } });
      const bundle = await store.createBundle({ accountId: account.id, name: 'b', version: '1', size: 10, sha256: 'ab'.repeat(32) });
      const certificate = await store.recordCertificate(newCertificate(account.id));
      const revoked = await store.revokeCertificate(certificate.serial, 'superseded');
      const audit = await store.appendAudit({
        type: 'request.created',
        outcome: 'success',
        actor: 'admin',
        accountId: account.id,
        clientId: null,
        provisionRequestId: request.id,
        detail: {},
      });
      await store.setSettingIfAbsent('admin-token-hash', 'hash');
      await store.close();

      const reopened = await openAnother();
      t.after(() => reopened.close());
      assert.deepEqual(await reopened.getAccount(account.id), account);
      assert.deepEqual(await reopened.getAccountByName(account.name), account);
      assert.deepEqual(await reopened.getProvisionRequest(request.id), updated);
      assert.deepEqual(await reopened.findEnabledProvisionRequest(request.clientId), updated);
      assert.deepEqual(await reopened.getConfiguration(configuration.id), configuration);
      assert.deepEqual(await reopened.getBundle(bundle.id), bundle);
      assert.deepEqual(await reopened.getCertificate(certificate.serial), revoked);
      assert.deepEqual(await reopened.listRevokedCertificates(), [revoked]);
      assert.deepEqual((await reopened.listAudit()).items, [audit]);
      assert.equal(await reopened.getSetting('admin-token-hash'), 'hash');
      // The rules hold across the reopen too.
      await rejectsWith(reopened.createAccount(newAccount({ name: account.name })), 'DUPLICATE');
      await rejectsWith(reopened.updateProvisionRequest(request.id, 1, { modifiedBy: 'late' }), 'VERSION_CONFLICT');
      const next = await reopened.appendAudit({
        type: 'x',
        outcome: 'success',
        actor: 'a',
        accountId: null,
        clientId: null,
        provisionRequestId: null,
        detail: {},
      });
      assert.ok(Number(next.id) > Number(audit.id), 'audit ids keep increasing after a reopen');
    });

    it('shows one handle the writes of another at once, as two workers see each other', async (t) => {
      const { store, openAnother } = await fresh(t);
      const other = await openAnother();
      t.after(() => other.close());
      const account = await store.createAccount(newAccount());
      const request = await other.createProvisionRequest(newRequest(account.id));
      assert.deepEqual(await store.findEnabledProvisionRequest(request.clientId), request);
      await store.updateProvisionRequest(request.id, 1, { modifiedBy: 'worker-1', status: 'DISABLED' });
      assert.equal(await other.findEnabledProvisionRequest(request.clientId), null);
    });

    it('closes idempotently; calls after close fail with STORE_UNAVAILABLE', async (t) => {
      const { store } = await fresh(t);
      await store.close();
      await store.close();
      await rejectsWith(store.getAccount('any'), 'STORE_UNAVAILABLE');
      await rejectsWith(store.createAccount(newAccount()), 'STORE_UNAVAILABLE');
    });
  });
}
