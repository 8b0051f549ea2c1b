import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { newAccount, newCertificate, newRequest, type FreshStore } from './fixtures.ts';

export function clientIdHolderContract(fresh: FreshStore): void {
  describe('clientId holders across accounts', () => {
    it('names the accounts with a request (any status) and those with a VALID certificate, per clientId', async (t) => {
      const { store } = await fresh(t);
      const [one, two, three] = [await store.createAccount(newAccount()), await store.createAccount(newAccount()), await store.createAccount(newAccount())];
      const completed = await store.createProvisionRequest(newRequest(one.id, { clientId: 'shared' }));
      await store.updateProvisionRequest(completed.id, completed.version, { status: 'DISABLED', jobStatus: 'COMPLETED', modifiedBy: 'test' });
      await store.createProvisionRequest(newRequest(two.id, { clientId: 'shared', status: 'DISABLED' }));
      await store.recordCertificate(newCertificate(one.id, { clientId: 'shared' }));
      await store.recordCertificate(newCertificate(one.id, { clientId: 'shared' }));
      const revoked = await store.recordCertificate(newCertificate(three.id, { clientId: 'shared' }));
      await store.revokeCertificate(revoked.serial, 'superseded');
      await store.recordCertificate(newCertificate(three.id, { clientId: 'certificate-only' }));
      const onlyRevoked = await store.recordCertificate(newCertificate(two.id, { clientId: 'revoked-only' }));
      await store.revokeCertificate(onlyRevoked.serial, 'keyCompromise');
      await store.createProvisionRequest(newRequest(two.id, { clientId: 'unrelated' }));

      const holders = await store.findClientIdHolders(['shared', 'certificate-only', 'revoked-only', 'nobody', 'shared']);
      assert.deepEqual([...holders.keys()].sort(), ['certificate-only', 'shared']);
      assert.deepEqual(holders.get('shared'), { requestAccountIds: [one.id, two.id].sort(), validCertificateAccountIds: [one.id] });
      assert.deepEqual(holders.get('certificate-only'), { requestAccountIds: [], validCertificateAccountIds: [three.id] });
    });

    it('forgets a deleted request and a revoked certificate, and answers an empty question with an empty map', async (t) => {
      const { store } = await fresh(t);
      const account = await store.createAccount(newAccount());
      const request = await store.createProvisionRequest(newRequest(account.id, { clientId: 'released' }));
      const certificate = await store.recordCertificate(newCertificate(account.id, { clientId: 'released', provisionRequestId: request.id }));
      assert.equal((await store.findClientIdHolders(['released'])).size, 1);
      await store.deleteProvisionRequest(request.id);
      assert.deepEqual((await store.findClientIdHolders(['released'])).get('released'), { requestAccountIds: [], validCertificateAccountIds: [account.id] });
      await store.revokeCertificate(certificate.serial, 'cessationOfOperation');
      assert.equal((await store.findClientIdHolders(['released'])).size, 0);
      assert.equal((await store.findClientIdHolders([])).size, 0);
    });

    it('answers for 1,500 clientIds at once, unicode and quotes included', async (t) => {
      const { store } = await fresh(t);
      const account = await store.createAccount(newAccount());
      const odd = ["it's", 'gerät-設備-😀', 'a"b', 'x,y', '%_'];
      const created = await store.createProvisionRequests(
        [...odd, ...Array.from({ length: 300 }, (_, i) => `bulk-${i}`)].map((clientId) => newRequest(account.id, { clientId })),
      );
      assert.ok(created.every((item) => item.ok));
      const asked = [...odd, ...Array.from({ length: 1500 - odd.length }, (_, i) => `bulk-${i}`)];
      const holders = await store.findClientIdHolders(asked);
      assert.equal(holders.size, odd.length + 300);
      for (const clientId of odd) assert.deepEqual(holders.get(clientId)?.requestAccountIds, [account.id], clientId);
      assert.equal(holders.get('bulk-300'), undefined);
      assert.equal((await store.findClientIdHolders(['%'])).size, 0, 'no pattern matching');
    });
  });
}
