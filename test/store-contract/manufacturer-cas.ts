import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { refusal } from '../../store/records.ts';
import { newEnrollmentGroup, newManufacturerCa } from './enrollment-fixtures.ts';
import { newAccount, nextMillisecond, rejectsWith, type FreshStore } from './fixtures.ts';

const block = (manufacturerCaId: string, serial: string, blockedOn = Date.now()) => ({
  manufacturerCaId,
  serial,
  reason: 'stolen',
  blockedOn,
  blockedBy: 'admin',
});

/** Manufacturer CAs and factory certificate blocks (issue 18): platform-wide, unique name and fingerprint, kept while a group names them. */
export function manufacturerCaContract(fresh: FreshStore): void {
  describe('manufacturer CAs', () => {
    it('creates a CA with version 1 and a lower-case fingerprint, read back by id and listed oldest first', async (t) => {
      const { store } = await fresh(t);
      assert.deepEqual(await store.listManufacturerCas(), []);
      const input = newManufacturerCa();
      const first = await store.createManufacturerCa({ ...input, extra: 'dropped' } as typeof input);
      assert.deepEqual(
        { ...first },
        {
          ...input,
          fingerprintSha256: input.fingerprintSha256.toLowerCase(),
          id: first.id,
          createdOn: first.createdOn,
          modifiedOn: first.createdOn,
          version: 1,
        },
      );
      assert.deepEqual(await store.getManufacturerCa(first.id), first);
      assert.equal(await store.getManufacturerCa('no-such-id'), null);
      await nextMillisecond();
      const second = await store.createManufacturerCa(newManufacturerCa({ enabled: false }));
      assert.deepEqual(await store.listManufacturerCas(), [first, second]);
    });

    it('refuses a second CA with a taken name or the same certificate fingerprint (in any case), changing nothing', async (t) => {
      const { store } = await fresh(t);
      const ca = await store.createManufacturerCa(newManufacturerCa());
      await rejectsWith(store.createManufacturerCa(newManufacturerCa({ name: ca.name })), 'DUPLICATE', refusal.manufacturerCaNameTaken);
      await rejectsWith(
        store.createManufacturerCa(newManufacturerCa({ fingerprintSha256: ca.fingerprintSha256.toUpperCase() })),
        'DUPLICATE',
        refusal.manufacturerCaFingerprintTaken,
      );
      assert.deepEqual(await store.listManufacturerCas(), [ca]);
    });

    it('updates the name and enabled by compare-and-set on version, freeing the old name', async (t) => {
      const { store } = await fresh(t);
      const ca = await store.createManufacturerCa(newManufacturerCa());
      const other = await store.createManufacturerCa(newManufacturerCa());
      await nextMillisecond();
      const updated = await store.updateManufacturerCa(ca.id, 1, { name: 'renamed', enabled: false });
      assert.deepEqual({ ...updated }, { ...ca, name: 'renamed', enabled: false, modifiedOn: updated.modifiedOn, version: 2 });
      assert.ok(updated.modifiedOn > ca.modifiedOn);
      assert.deepEqual(await store.getManufacturerCa(ca.id), updated);
      await rejectsWith(store.updateManufacturerCa(ca.id, 1, { enabled: true }), 'VERSION_CONFLICT', refusal.staleVersion);
      await rejectsWith(store.updateManufacturerCa('no-such-id', 1, { enabled: true }), 'NOT_FOUND', refusal.manufacturerCaNotFound);
      await rejectsWith(store.updateManufacturerCa(ca.id, 2, { name: other.name }), 'DUPLICATE', refusal.manufacturerCaNameTaken);
      assert.deepEqual(await store.getManufacturerCa(ca.id), updated, 'the refused updates changed nothing');
      const again = await store.createManufacturerCa(newManufacturerCa({ name: ca.name }));
      assert.equal(again.name, ca.name);
      assert.equal((await store.updateManufacturerCa(ca.id, 2, {})).version, 3, 'an empty patch still moves the version');
    });

    it('refuses to delete a CA an enrollment group names (DUPLICATE) and deletes it, its blocks, name and fingerprint once none does', async (t) => {
      const { store } = await fresh(t);
      const account = await store.createAccount(newAccount());
      const ca = await store.createManufacturerCa(newManufacturerCa());
      const group = await store.createEnrollmentGroup(newEnrollmentGroup(account.id, ca.id));
      await store.blockFactoryCertificate(block(ca.id, '0a1b'));
      await rejectsWith(store.deleteManufacturerCa(ca.id), 'DUPLICATE', refusal.manufacturerCaInUse);
      assert.deepEqual(await store.getManufacturerCa(ca.id), ca);
      await store.deleteEnrollmentGroup(group.id);
      await store.deleteManufacturerCa(ca.id);
      assert.equal(await store.getManufacturerCa(ca.id), null);
      assert.deepEqual(await store.listManufacturerCas(), []);
      assert.equal(await store.getFactoryCertificateBlock(ca.id, '0a1b'), null);
      assert.equal((await store.listFactoryCertificateBlocks(ca.id)).total, 0);
      await rejectsWith(store.deleteManufacturerCa(ca.id), 'NOT_FOUND', refusal.manufacturerCaNotFound);
      const again = await store.createManufacturerCa(newManufacturerCa({ name: ca.name, fingerprintSha256: ca.fingerprintSha256 }));
      assert.equal(await store.getFactoryCertificateBlock(again.id, '0a1b'), null);
    });

    it('deletes a CA renamed since: the new name is freed, the old one stays free', async (t) => {
      const { store } = await fresh(t);
      const ca = await store.createManufacturerCa(newManufacturerCa({ name: 'before' }));
      await store.updateManufacturerCa(ca.id, 1, { name: 'after' });
      await store.deleteManufacturerCa(ca.id);
      await store.createManufacturerCa(newManufacturerCa({ name: 'after' }));
      await store.createManufacturerCa(newManufacturerCa({ name: 'before' }));
      assert.equal((await store.listManufacturerCas()).length, 2);
    });
  });

  describe('factory certificate blocks', () => {
    it('blocks a serial of a CA (stored lower-case, found in any case) and refuses blocking it twice', async (t) => {
      const { store } = await fresh(t);
      const [ca, other] = [await store.createManufacturerCa(newManufacturerCa()), await store.createManufacturerCa(newManufacturerCa())];
      const input = block(ca.id, '0A1B2C');
      const blocked = await store.blockFactoryCertificate({ ...input, extra: 'dropped' } as typeof input);
      assert.deepEqual({ ...blocked }, { ...input, serial: '0a1b2c' });
      assert.deepEqual(await store.getFactoryCertificateBlock(ca.id, '0a1b2c'), blocked);
      assert.deepEqual(await store.getFactoryCertificateBlock(ca.id, '0A1B2C'), blocked);
      assert.equal(await store.getFactoryCertificateBlock(other.id, '0a1b2c'), null, 'a serial is blocked under its CA only');
      await rejectsWith(store.blockFactoryCertificate(block(ca.id, '0a1b2c')), 'DUPLICATE', refusal.factoryCertificateBlocked);
      await rejectsWith(store.blockFactoryCertificate(block('no-such-ca', '01')), 'NOT_FOUND', refusal.manufacturerCaNotFound);
      await store.blockFactoryCertificate(block(other.id, '0a1b2c'));
      assert.equal((await store.listFactoryCertificateBlocks(ca.id)).total, 1);
    });

    it('lists the blocks of one CA newest first, with offset, limit and the total', async (t) => {
      const { store } = await fresh(t);
      const [ca, other] = [await store.createManufacturerCa(newManufacturerCa()), await store.createManufacturerCa(newManufacturerCa())];
      const start = Date.now();
      for (const [index, serial] of ['05', '01', '04', '02', '03'].entries()) await store.blockFactoryCertificate(block(ca.id, serial, start + index));
      await store.blockFactoryCertificate(block(other.id, '99', start + 10));
      const serials = (page: { items: readonly { serial: string }[] }) => page.items.map((item) => item.serial);
      const all = await store.listFactoryCertificateBlocks(ca.id);
      assert.deepEqual(serials(all), ['03', '02', '04', '01', '05']);
      assert.equal(all.total, 5);
      const page = await store.listFactoryCertificateBlocks(ca.id, { offset: 1, limit: 2 });
      assert.deepEqual({ ...page, items: serials(page) }, { items: ['02', '04'], total: 5, offset: 1, limit: 2 });
      assert.deepEqual(await store.listFactoryCertificateBlocks(ca.id, { limit: 0 }), { items: [], total: 5, offset: 0, limit: 0 });
      assert.deepEqual(await store.listFactoryCertificateBlocks('no-such-ca'), { items: [], total: 0, offset: 0, limit: 50 });
    });

    it('orders blocks of the same time by serial, descending', async (t) => {
      const { store } = await fresh(t);
      const ca = await store.createManufacturerCa(newManufacturerCa());
      const now = Date.now();
      for (const serial of ['0b', '0c', '0a']) await store.blockFactoryCertificate(block(ca.id, serial, now));
      assert.deepEqual(
        (await store.listFactoryCertificateBlocks(ca.id)).items.map((item) => item.serial),
        ['0c', '0b', '0a'],
      );
    });

    it('unblocks a serial (in any case) and answers NOT_FOUND when it was not blocked', async (t) => {
      const { store } = await fresh(t);
      const ca = await store.createManufacturerCa(newManufacturerCa());
      await store.blockFactoryCertificate(block(ca.id, 'ab'));
      await store.blockFactoryCertificate(block(ca.id, 'cd'));
      await store.unblockFactoryCertificate(ca.id, 'AB');
      assert.equal(await store.getFactoryCertificateBlock(ca.id, 'ab'), null);
      assert.deepEqual(
        (await store.listFactoryCertificateBlocks(ca.id)).items.map((item) => item.serial),
        ['cd'],
      );
      await rejectsWith(store.unblockFactoryCertificate(ca.id, 'ab'), 'NOT_FOUND', refusal.factoryCertificateNotBlocked);
      await rejectsWith(store.unblockFactoryCertificate('no-such-ca', 'cd'), 'NOT_FOUND', refusal.factoryCertificateNotBlocked);
      await store.blockFactoryCertificate(block(ca.id, 'ab'));
      assert.ok(await store.getFactoryCertificateBlock(ca.id, 'ab'), 'an unblocked serial can be blocked again');
    });
  });
}
