import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { DevicePatch, DeviceRecord, ProvisionStore } from '../../store/types.ts';
import { assertListing, inDeviceOrder } from './devices.ts';
import { newAccount, type FreshStore } from './fixtures.ts';

/**
 * Two accounts of devices on which each filter picks a different set, with near misses: a category,
 * tag, model or broker that only starts like the one filtered for, tags with LIKE wildcards, a
 * certificate expiring exactly at the bound, devices with only a reported or no configuration hash.
 */
async function seedRegistry(store: ProvisionStore): Promise<{ accounts: [string, string]; devices: DeviceRecord[] }> {
  const accounts: [string, string] = [(await store.createAccount(newAccount())).id, (await store.createAccount(newAccount())).id];
  const plan: [number, string, DevicePatch][] = [
    [
      0,
      'dev-01',
      {
        online: true,
        brokerId: 'broker-1',
        category: 'sensors',
        tags: ['roof', 'north'],
        model: 'RG-10',
        firmware: '5.4.0',
        expectedConfigurationHash: 'h1',
        reportedConfigurationHash: 'h1',
        certificateNotAfter: 5000,
      },
    ],
    [
      0,
      'dev-02',
      {
        online: true,
        brokerId: 'broker-2',
        category: 'sensors',
        tags: ['roof'],
        model: 'RG-20',
        firmware: '5.5.0',
        expectedConfigurationHash: 'h1',
        reportedConfigurationHash: 'h0',
        certificateNotAfter: 4999,
      },
    ],
    [
      0,
      'dev-03',
      {
        brokerId: 'broker-1',
        category: 'gateways',
        tags: ['north'],
        model: 'RG-10',
        firmware: '5.4.0',
        expectedConfigurationHash: 'h2',
        certificateNotAfter: 5001,
      },
    ],
    [0, 'dev-04', {}],
    [
      0,
      'dev-05',
      {
        online: true,
        brokerId: 'broker-10',
        category: 'sensors-old',
        tags: ['north-east', 'r_of'],
        model: 'RG-1',
        firmware: '5.4',
        reportedConfigurationHash: 'h3',
      },
    ],
    [0, 'dev-06', { expectedConfigurationHash: 'h4', reportedConfigurationHash: 'h4' }],
    [
      1,
      'dev-01',
      {
        online: true,
        brokerId: 'broker-1',
        category: 'sensors',
        tags: ['south', 'roof'],
        model: 'RG-10',
        firmware: '5.5.0',
        expectedConfigurationHash: 'h1',
        reportedConfigurationHash: 'h9',
        certificateNotAfter: 100,
      },
    ],
    [1, 'dev-07', { brokerId: 'broker-2', category: 'gateways', expectedConfigurationHash: 'h5', certificateNotAfter: 6000 }],
  ];
  const devices: DeviceRecord[] = [];
  for (const [account, clientId, patch] of plan) devices.push(await store.upsertDevice(accounts[account] ?? '', clientId, patch));
  return { accounts, devices };
}

/** The device registry's filters (issue 15 §1): each selects exactly its devices, the total counting every match. */
export function deviceFilterContract(fresh: FreshStore): void {
  describe('device registry filters', () => {
    it('filters by category, tag, model, firmware and brokerId, exactly: no prefix, substring or wildcard matches', async (t) => {
      const { store } = await fresh(t);
      const { devices } = await seedRegistry(store);
      const has = (value: string) => (device: DeviceRecord) => device.tags.includes(value);
      await assertListing(store, devices, { category: 'sensors' }, (device) => device.category === 'sensors');
      await assertListing(store, devices, { category: 'gateways' }, (device) => device.category === 'gateways');
      await assertListing(store, devices, { category: 'sensors-old' }, (device) => device.category === 'sensors-old');
      await assertListing(store, devices, { category: 'sensor' }, () => false);
      await assertListing(store, devices, { tag: 'roof' }, has('roof'));
      await assertListing(store, devices, { tag: 'north' }, has('north'));
      await assertListing(store, devices, { tag: 'r_of' }, has('r_of'));
      for (const tag of ['nort', 'no%', '%', 'roof,north', '"roof"']) await assertListing(store, devices, { tag }, () => false);
      await assertListing(store, devices, { model: 'RG-10' }, (device) => device.model === 'RG-10');
      await assertListing(store, devices, { model: 'RG-1' }, (device) => device.model === 'RG-1');
      await assertListing(store, devices, { model: 'RG' }, () => false);
      await assertListing(store, devices, { firmware: '5.4.0' }, (device) => device.firmware === '5.4.0');
      await assertListing(store, devices, { firmware: '5.4' }, (device) => device.firmware === '5.4');
      await assertListing(store, devices, { brokerId: 'broker-1' }, (device) => device.brokerId === 'broker-1');
      await assertListing(store, devices, { brokerId: 'broker-2' }, (device) => device.brokerId === 'broker-2');
      await assertListing(store, devices, { brokerId: 'broker' }, () => false);
      assert.equal((await store.listDevices({ category: 'sensors' })).total, 3);
      assert.equal((await store.listDevices({ tag: 'north' })).total, 2);
      assert.equal((await store.listDevices({ brokerId: 'broker-1' })).total, 3);
    });

    it('filters by configuration sync: devices without an expected hash match neither true nor false', async (t) => {
      const { store } = await fresh(t);
      const { devices } = await seedRegistry(store);
      const inSync = (device: DeviceRecord) =>
        device.expectedConfigurationHash !== null && device.expectedConfigurationHash === device.reportedConfigurationHash;
      const outOfSync = (device: DeviceRecord) =>
        device.expectedConfigurationHash !== null && device.expectedConfigurationHash !== device.reportedConfigurationHash;
      await assertListing(store, devices, { configurationInSync: true }, inSync);
      await assertListing(store, devices, { configurationInSync: false }, outOfSync);
      assert.deepEqual(
        (await store.listDevices({ configurationInSync: true })).items.map((device) => device.clientId),
        ['dev-01', 'dev-06'],
      );
      assert.equal((await store.listDevices({ configurationInSync: false })).total, 4);
      const neither = devices.filter((device) => !inSync(device) && !outOfSync(device)).map((device) => device.clientId);
      assert.deepEqual(neither, ['dev-04', 'dev-05'], 'the seed has devices without an expected hash');
    });

    it('filters by certificate expiry: notAfter strictly before the bound, devices without a certificate never', async (t) => {
      const { store } = await fresh(t);
      const { devices } = await seedRegistry(store);
      for (const bound of [0, 100, 101, 5000, 5001, 5002, Number.MAX_SAFE_INTEGER]) {
        await assertListing(
          store,
          devices,
          { certificateExpiresBefore: bound },
          (device) => device.certificateNotAfter !== null && device.certificateNotAfter < bound,
        );
      }
      assert.deepEqual((await store.listDevices({ certificateExpiresBefore: 5000 })).items.map((device) => device.clientId).sort(), ['dev-01', 'dev-02']);
      assert.equal((await store.listDevices({ certificateExpiresBefore: Number.MAX_SAFE_INTEGER })).total, 5);
    });

    it('records the roots a device trusts (sorted, without repeats, replaced whole, kept by patches without them) and filters by one, exactly', async (t) => {
      const { store } = await fresh(t);
      const accountId = (await store.createAccount(newAccount())).id;
      const [root1, root2, root3] = ['1', '2', '3'].map((digit) => digit.repeat(64)) as [string, string, string];
      const before = await store.upsertDevice(accountId, 'knows-one', { online: true });
      assert.deepEqual(before.trustedRoots, [], 'a device that never said trusts nothing on record');
      const both = await store.upsertDevice(accountId, 'knows-both', { trustedRoots: [root2, root1, root2] });
      assert.deepEqual(both.trustedRoots, [root1, root2]);
      await store.upsertDevice(accountId, 'knows-one', { trustedRoots: [root1] });
      const kept = await store.upsertDevice(accountId, 'knows-both', { online: false, lastSeenOn: 7 });
      assert.deepEqual(kept.trustedRoots, [root1, root2], 'a patch without trustedRoots keeps them');
      assert.deepEqual((await store.getDevice(accountId, 'knows-both'))?.trustedRoots, [root1, root2]);
      const byRoot = async (trustsRoot: string) => (await store.listDevices({ accountId, trustsRoot })).items.map((device) => device.clientId);
      assert.deepEqual(await byRoot(root1), ['knows-both', 'knows-one']);
      assert.deepEqual(await byRoot(root2), ['knows-both']);
      assert.deepEqual(await byRoot(root3), []);
      assert.deepEqual(await byRoot(root2.slice(0, 63)), [], 'no prefix match');
      assert.equal((await store.listDevices({ accountId, trustsRoot: root2, limit: 1 })).total, 1);
      const replaced = await store.upsertDevice(accountId, 'knows-both', { trustedRoots: [root3] });
      assert.deepEqual(replaced.trustedRoots, [root3], 'a new list replaces the old one');
      assert.deepEqual(await byRoot(root1), ['knows-one']);
    });

    it('combines the filters with each other and with account, clientId and online, paging with the total', async (t) => {
      const { store } = await fresh(t);
      const { accounts, devices } = await seedRegistry(store);
      const [one, two] = accounts;
      await assertListing(store, devices, { online: true }, (device) => device.online);
      await assertListing(store, devices, { accountId: one, category: 'sensors' }, (device) => device.accountId === one && device.category === 'sensors');
      await assertListing(store, devices, { accountId: two, tag: 'roof' }, (device) => device.accountId === two && device.tags.includes('roof'));
      await assertListing(
        store,
        devices,
        { tag: 'roof', online: true, brokerId: 'broker-1' },
        (device) => device.tags.includes('roof') && device.brokerId === 'broker-1',
      );
      await assertListing(
        store,
        devices,
        { model: 'RG-10', firmware: '5.4.0', online: false },
        (device) => device.model === 'RG-10' && device.firmware === '5.4.0' && !device.online,
      );
      await assertListing(
        store,
        devices,
        { configurationInSync: false, brokerId: 'broker-2' },
        (device) =>
          device.brokerId === 'broker-2' && device.expectedConfigurationHash !== null && device.expectedConfigurationHash !== device.reportedConfigurationHash,
      );
      await assertListing(
        store,
        devices,
        { clientId: 'dev-01', category: 'sensors', certificateExpiresBefore: 1000 },
        (device) => device.accountId === two && device.clientId === 'dev-01',
      );
      await assertListing(store, devices, { category: 'sensors', configurationInSync: true, online: false }, () => false);
      await assertListing(store, devices, { category: 'sensors', offset: 1, limit: 1 }, (device) => device.category === 'sensors');
      await assertListing(store, devices, { tag: 'roof', offset: 2, limit: 5 }, (device) => device.tags.includes('roof'));
      await assertListing(
        store,
        devices,
        { configurationInSync: false, offset: 1, limit: 2 },
        (device) => device.expectedConfigurationHash !== null && device.expectedConfigurationHash !== device.reportedConfigurationHash,
      );
      await assertListing(store, devices, { brokerId: 'broker-1', offset: 0, limit: 0 }, (device) => device.brokerId === 'broker-1');
      assert.deepEqual(await store.listDevices({ category: 'sensors', offset: 5, limit: 2 }), { items: [], total: 3, offset: 5, limit: 2 });
    });

    it('lists a device under its new values once they change', async (t) => {
      const { store } = await fresh(t);
      const { accounts, devices } = await seedRegistry(store);
      const moved = await store.upsertDevice(accounts[0], 'dev-04', {
        category: 'sensors',
        tags: ['roof'],
        reportedConfigurationHash: 'x',
        expectedConfigurationHash: 'x',
      });
      const untagged = await store.upsertDevice(accounts[0], 'dev-01', { tags: [], category: null, expectedConfigurationHash: null });
      const now = inDeviceOrder(devices.map((device) => (device.id === moved.id ? moved : device.id === untagged.id ? untagged : device)));
      await assertListing(store, now, { category: 'sensors' }, (device) => device.category === 'sensors');
      await assertListing(store, now, { tag: 'roof' }, (device) => device.tags.includes('roof'));
      await assertListing(
        store,
        now,
        { configurationInSync: true },
        (device) => device.expectedConfigurationHash !== null && device.expectedConfigurationHash === device.reportedConfigurationHash,
      );
      await assertListing(
        store,
        now,
        { configurationInSync: false },
        (device) => device.expectedConfigurationHash !== null && device.expectedConfigurationHash !== device.reportedConfigurationHash,
      );
    });
  });
}
