import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { refusal } from '../../store/records.ts';
import type { IssuedCertificate } from '../../store/types.ts';
import { newAccount, newCertificate, newRequest, nextMillisecond, rejectsWith, type FreshStore } from './fixtures.ts';

function serials(certificates: readonly IssuedCertificate[]): string[] {
  return certificates.map((certificate) => certificate.serial);
}

export function certificateContract(fresh: FreshStore): void {
  describe('issued certificates', () => {
    it('records a certificate as VALID and reads it back by serial', async (t) => {
      const { store } = await fresh(t);
      const account = await store.createAccount(newAccount());
      const input = newCertificate(account.id, { serial: '00a1b2c3', provisionRequestId: 'request-1', notBefore: 1_700_000_000_001 });
      const recorded = await store.recordCertificate(input);
      assert.deepEqual(recorded, {
        ...input,
        status: 'VALID',
        revokedOn: null,
        revocationReason: null,
        createdOn: recorded.createdOn,
        renewsSerial: null,
        renewalRequestId: null,
        renewalSettledOn: null,
      });
      assert.deepEqual(await store.getCertificate('00a1b2c3'), recorded);
      assert.equal(await store.getCertificate('a1b2c3'), null, 'serials are compared exactly, leading zeros included');
    });

    it('refuses a second certificate with the same serial', async (t) => {
      const { store } = await fresh(t);
      const account = await store.createAccount(newAccount());
      const first = await store.recordCertificate(newCertificate(account.id));
      await rejectsWith(store.recordCertificate(newCertificate(account.id, { serial: first.serial })), 'DUPLICATE');
      assert.deepEqual(await store.getCertificate(first.serial), first);
    });

    it('keeps certificates after their provision request and account are deleted', async (t) => {
      const { store } = await fresh(t);
      const account = await store.createAccount(newAccount());
      const request = await store.createProvisionRequest(newRequest(account.id));
      const certificate = await store.recordCertificate(newCertificate(account.id, { clientId: request.clientId, provisionRequestId: request.id }));
      await store.deleteProvisionRequest(request.id);
      await store.deleteAccount(account.id);
      assert.deepEqual(await store.getCertificate(certificate.serial), certificate);
    });

    it('lists certificates in creation order, filtered by account, clientId and status, with totals', async (t) => {
      const { store } = await fresh(t);
      const [one, two] = [await store.createAccount(newAccount()), await store.createAccount(newAccount())];
      const made: IssuedCertificate[] = [];
      for (const [accountId, clientId] of [
        [one.id, 'd1'],
        [one.id, 'd2'],
        [two.id, 'd1'],
        [one.id, 'd1'],
      ] as const) {
        await nextMillisecond();
        made.push(await store.recordCertificate(newCertificate(accountId, { clientId })));
      }
      await store.revokeCertificate(made[3]?.serial ?? '', 'key compromise');
      const all = await store.listCertificates();
      assert.deepEqual(serials(all.items), serials(made));
      assert.equal(all.total, 4);
      const ofOne = await store.listCertificates({ accountId: one.id });
      assert.deepEqual(serials(ofOne.items), serials([made[0], made[1], made[3]] as IssuedCertificate[]));
      const ofDevice = await store.listCertificates({ accountId: one.id, clientId: 'd1', status: 'VALID' });
      assert.deepEqual(serials(ofDevice.items), serials([made[0]] as IssuedCertificate[]));
      assert.equal(ofDevice.total, 1);
      const revoked = await store.listCertificates({ status: 'REVOKED' });
      assert.deepEqual(serials(revoked.items), [made[3]?.serial]);
      const page = await store.listCertificates({ clientId: 'd1', offset: 1, limit: 1 });
      assert.deepEqual(serials(page.items), [made[2]?.serial]);
      assert.equal(page.total, 3);
    });

    it('revokes a certificate; revoking it again keeps the first time and reason', async (t) => {
      const { store } = await fresh(t);
      const account = await store.createAccount(newAccount());
      const certificate = await store.recordCertificate(newCertificate(account.id));
      const before = Date.now();
      const revoked = await store.revokeCertificate(certificate.serial, 'key compromise');
      assert.deepEqual(revoked, { ...certificate, status: 'REVOKED', revokedOn: revoked.revokedOn, revocationReason: 'key compromise' });
      assert.ok((revoked.revokedOn ?? 0) >= before);
      await nextMillisecond();
      assert.deepEqual(await store.revokeCertificate(certificate.serial, 'superseded'), revoked);
      assert.deepEqual(await store.getCertificate(certificate.serial), revoked);
    });

    it('keeps one revocation when several are made concurrently', async (t) => {
      const { store, openAnother } = await fresh(t);
      const other = await openAnother();
      t.after(() => other.close());
      const account = await store.createAccount(newAccount());
      const certificate = await store.recordCertificate(newCertificate(account.id));
      const results = await Promise.all(
        Array.from({ length: 10 }, (_, index) => (index % 2 ? other : store).revokeCertificate(certificate.serial, `reason-${index}`)),
      );
      const stored = await store.getCertificate(certificate.serial);
      for (const result of results) assert.deepEqual(result, stored);
    });

    it('answers NOT_FOUND when revoking an unknown serial', async (t) => {
      const { store } = await fresh(t);
      await rejectsWith(store.revokeCertificate('ffff', 'unknown'), 'NOT_FOUND');
    });

    it('lists exactly the revoked certificates', async (t) => {
      const { store } = await fresh(t);
      const account = await store.createAccount(newAccount());
      assert.deepEqual(await store.listRevokedCertificates(), []);
      const made = [];
      for (let index = 0; index < 4; index += 1) made.push(await store.recordCertificate(newCertificate(account.id)));
      const first = await store.revokeCertificate(made[2]?.serial ?? '', 'superseded');
      await nextMillisecond();
      const second = await store.revokeCertificate(made[0]?.serial ?? '', 'key compromise');
      assert.deepEqual(await store.listRevokedCertificates(), [first, second]);
    });

    it('records a renewal with the serial it renews and its request.id, and lists the certificates of a clientId oldest first', async (t) => {
      const { store } = await fresh(t);
      const [one, two] = [await store.createAccount(newAccount()), await store.createAccount(newAccount())];
      const first = await store.recordCertificate(newCertificate(one.id, { clientId: 'renewing' }));
      await nextMillisecond();
      const elsewhere = await store.recordCertificate(newCertificate(two.id, { clientId: 'renewing' }));
      await nextMillisecond();
      const renewal = await store.recordCertificate(newCertificate(one.id, { clientId: 'renewing', renewsSerial: first.serial, renewalRequestId: 'renew-1' }));
      assert.equal(renewal.renewsSerial, first.serial);
      assert.equal(renewal.renewalRequestId, 'renew-1');
      assert.equal(renewal.renewalSettledOn, null);
      assert.deepEqual(await store.getCertificate(renewal.serial), renewal);
      assert.deepEqual(serials(await store.listClientCertificates('renewing')), serials([first, elsewhere, renewal]));
      assert.deepEqual(await store.listClientCertificates('nobody'), []);
    });

    it('records one certificate per renewal request.id of a device, whichever of concurrent processes comes first', async (t) => {
      const { store, openAnother } = await fresh(t);
      const other = await openAnother();
      t.after(() => other.close());
      const [one, two] = [await store.createAccount(newAccount()), await store.createAccount(newAccount())];
      const old = await store.recordCertificate(newCertificate(one.id, { clientId: 'twice' }));
      const renewal = { clientId: 'twice', renewsSerial: old.serial, renewalRequestId: 'renew-1' };
      const outcomes = await Promise.allSettled(
        Array.from({ length: 4 }, (_, index) => (index % 2 ? other : store).recordCertificate(newCertificate(one.id, renewal))),
      );
      const recorded = outcomes.flatMap((outcome) => (outcome.status === 'fulfilled' ? [outcome.value] : []));
      assert.equal(recorded.length, 1, 'exactly one of concurrent records of one request.id wins');
      for (const outcome of outcomes) {
        if (outcome.status === 'rejected') await rejectsWith(Promise.reject(outcome.reason), 'DUPLICATE', refusal.renewalRequestAnswered);
      }
      await rejectsWith(store.recordCertificate(newCertificate(one.id, renewal)), 'DUPLICATE', refusal.renewalRequestAnswered);
      assert.deepEqual(
        (await store.listClientCertificates('twice')).filter((certificate) => certificate.renewalRequestId === 'renew-1'),
        recorded,
      );
      // The same request.id of another device, or of the same clientId in another account, is another request.
      await store.recordCertificate(newCertificate(one.id, { ...renewal, clientId: 'other-device' }));
      await store.recordCertificate(newCertificate(two.id, renewal));
      await store.recordCertificate(newCertificate(one.id, { ...renewal, renewalRequestId: 'renew-2' }));
    });

    it('settles a renewal once, lists only unsettled renewals created before a time, and settles nothing that renews nothing', async (t) => {
      const { store, openAnother } = await fresh(t);
      const other = await openAnother();
      t.after(() => other.close());
      const account = await store.createAccount(newAccount());
      const old = await store.recordCertificate(newCertificate(account.id, { clientId: 'd' }));
      const renewals: IssuedCertificate[] = [];
      for (let index = 0; index < 3; index += 1) {
        await nextMillisecond();
        renewals.push(await store.recordCertificate(newCertificate(account.id, { clientId: 'd', renewsSerial: old.serial, renewalRequestId: `r-${index}` })));
      }
      const [a, b, c] = renewals as [IssuedCertificate, IssuedCertificate, IssuedCertificate];
      assert.deepEqual(serials(await store.listUnsettledRenewals(Date.now() + 1, 100)), serials(renewals));
      assert.deepEqual(serials(await store.listUnsettledRenewals(c.createdOn, 100)), serials([a, b]), 'created before, not at');
      assert.deepEqual(serials(await store.listUnsettledRenewals(Date.now() + 1, 1)), serials([a]));
      const outcomes = await Promise.all(Array.from({ length: 6 }, (_, index) => (index % 2 ? other : store).settleRenewal(b.serial)));
      assert.equal(outcomes.filter(Boolean).length, 1, 'exactly one of concurrent settlements wins');
      const settled = await store.getCertificate(b.serial);
      assert.ok(settled?.renewalSettledOn !== null && settled?.renewalSettledOn !== undefined);
      assert.deepEqual({ ...settled, renewalSettledOn: null }, b);
      assert.deepEqual(serials(await store.listUnsettledRenewals(Date.now() + 1, 100)), serials([a, c]));
      assert.equal(await store.settleRenewal(old.serial), false, 'a certificate that renews nothing has nothing to settle');
      assert.equal((await store.getCertificate(old.serial))?.renewalSettledOn, null);
      await rejectsWith(store.settleRenewal('ffff'), 'NOT_FOUND');
      // Revoking a renewal keeps it unsettled: the sweep settles it.
      await store.revokeCertificate(a.serial, 'superseded');
      assert.deepEqual(serials(await store.listUnsettledRenewals(Date.now() + 1, 100)), serials([a, c]));
    });
  });
}
