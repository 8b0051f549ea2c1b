import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { refusal } from '../../store/records.ts';
import type { DeviceFilter, DevicePatch, DeviceRecord, ProvisionStore } from '../../store/types.ts';
import { newAccount, nextMillisecond, rejectsWith, type FreshStore } from './fixtures.ts';

/** The order the store lists devices in: accountId, then clientId, compared bytewise. */
export function inDeviceOrder(devices: readonly DeviceRecord[]): DeviceRecord[] {
  const bytewise = (a: string, b: string) => Buffer.compare(Buffer.from(a), Buffer.from(b));
  return [...devices].sort((a, b) => bytewise(a.accountId, b.accountId) || bytewise(a.clientId, b.clientId));
}

/** The registry fields of issue 15 on a device never told them (device-registry.ts tests them). */
const noRegistryFields = {
  brokerId: null,
  category: null,
  tags: [],
  model: null,
  serial: null,
  firmware: null,
  certificateNotAfter: null,
  configurationId: null,
  configurationVersion: null,
  configurationState: null,
  configurationError: null,
  bundles: [],
  trustedRoots: [],
};

function keysOf(devices: readonly DeviceRecord[]): string[] {
  return devices.map((device) => `${device.accountId}/${device.clientId}`);
}

/** Two accounts; clientIds chosen so that bytewise order differs from naive or case-blind order. */
async function seedDevices(store: ProvisionStore): Promise<{ accounts: [string, string]; devices: DeviceRecord[] }> {
  const accounts: [string, string] = [(await store.createAccount(newAccount())).id, (await store.createAccount(newAccount())).id];
  const plan: [number, string, DevicePatch][] = [
    [1, 'sensor-b', { online: true }],
    [0, 'sensor-b', { online: true, lastSeenOn: 3000 }],
    [0, 'Sensor-a', {}],
    [1, 'gateway', { online: false, lastSeenOn: 1000 }],
    [0, 'sensor-a', { online: true }],
    [0, 'sensor-a.1', {}],
    [0, 'sensor-a-1', { online: true }],
    [1, 'sensor-a', {}],
  ];
  const devices: DeviceRecord[] = [];
  for (const [account, clientId, patch] of plan) devices.push(await store.upsertDevice(accounts[account] ?? '', clientId, patch));
  return { accounts, devices };
}

export async function assertListing(
  store: ProvisionStore,
  seeded: readonly DeviceRecord[],
  filter: DeviceFilter,
  keep: (device: DeviceRecord) => boolean,
): Promise<void> {
  const all = inDeviceOrder(seeded.filter(keep));
  const offset = filter.offset ?? 0;
  const page = await store.listDevices(filter);
  assert.deepEqual(page.items, all.slice(offset, offset + (filter.limit ?? 50)), JSON.stringify(filter));
  assert.equal(page.total, all.length, `total of ${JSON.stringify(filter)}`);
  assert.equal(page.offset, offset);
}

export function deviceContract(fresh: FreshStore): void {
  describe('devices', () => {
    it('creates a device on first upsert: offline, nothing known, modifiedOn now', async (t) => {
      const { store } = await fresh(t);
      const account = await store.createAccount(newAccount());
      const before = Date.now();
      const device = await store.upsertDevice(account.id, 'device-1', {});
      assert.deepEqual(device, {
        ...noRegistryFields,
        id: device.id,
        accountId: account.id,
        clientId: 'device-1',
        online: false,
        certificateSerial: null,
        expectedConfigurationHash: null,
        reportedConfigurationHash: null,
        provisionedOn: null,
        lastBirthOn: null,
        lastSeenOn: null,
        modifiedOn: device.modifiedOn,
      });
      assert.ok(device.modifiedOn >= before && device.modifiedOn <= Date.now());
      assert.deepEqual(await store.getDevice(account.id, 'device-1'), device);
    });

    it('creates a device with the patch over the defaults', async (t) => {
      const { store } = await fresh(t);
      const account = await store.createAccount(newAccount());
      const patch = { online: true, certificateSerial: '00ab', lastBirthOn: 1_700_000_000_001, lastSeenOn: 1_700_000_000_002 };
      const device = await store.upsertDevice(account.id, 'device-1', patch);
      assert.deepEqual(device, {
        ...noRegistryFields,
        id: device.id,
        accountId: account.id,
        clientId: 'device-1',
        expectedConfigurationHash: null,
        reportedConfigurationHash: null,
        provisionedOn: null,
        ...patch,
        modifiedOn: device.modifiedOn,
      });
      assert.deepEqual(await store.getDevice(account.id, 'device-1'), device);
    });

    it('patches only the given fields of an existing device; null clears a field, undefined keeps it', async (t) => {
      const { store } = await fresh(t);
      const account = await store.createAccount(newAccount());
      const first = await store.upsertDevice(account.id, 'device-1', {
        online: true,
        certificateSerial: 'serial-1',
        expectedConfigurationHash: 'expected-1',
        provisionedOn: 1000,
        lastSeenOn: 1000,
      });
      await nextMillisecond();
      const second = await store.upsertDevice(account.id, 'device-1', { lastSeenOn: 2000, reportedConfigurationHash: 'reported-1' });
      assert.deepEqual(second, { ...first, lastSeenOn: 2000, reportedConfigurationHash: 'reported-1', modifiedOn: second.modifiedOn });
      assert.ok(second.modifiedOn > first.modifiedOn, 'modifiedOn moves on every upsert');
      const third = await store.upsertDevice(account.id, 'device-1', { certificateSerial: null, online: undefined, provisionedOn: undefined });
      assert.deepEqual(third, { ...second, certificateSerial: null, modifiedOn: third.modifiedOn });
      const fourth = await store.upsertDevice(account.id, 'device-1', { online: false });
      assert.deepEqual(fourth, { ...third, online: false, modifiedOn: fourth.modifiedOn });
      assert.deepEqual(await store.getDevice(account.id, 'device-1'), fourth);
      assert.equal((await store.listDevices()).total, 1, 'upserts never add a second record');
    });

    it('keeps large timestamps exact', async (t) => {
      const { store, openAnother } = await fresh(t);
      const account = await store.createAccount(newAccount());
      const patch = { provisionedOn: 8_640_000_000_000_000, lastBirthOn: Number.MAX_SAFE_INTEGER, lastSeenOn: 1_765_432_109_876 };
      const device = await store.upsertDevice(account.id, 'device-1', patch);
      assert.deepEqual({ ...device, modifiedOn: 0 }, { ...(await store.getDevice(account.id, 'device-1')), modifiedOn: 0 });
      assert.equal(device.provisionedOn, patch.provisionedOn);
      assert.equal(device.lastBirthOn, patch.lastBirthOn);
      const other = await openAnother();
      t.after(() => other.close());
      const touched = await other.upsertDevice(account.id, 'device-1', { online: true });
      assert.deepEqual(touched, { ...device, online: true, modifiedOn: touched.modifiedOn });
    });

    it('ignores identity and bookkeeping fields spread into a patch', async (t) => {
      const { store } = await fresh(t);
      const account = await store.createAccount(newAccount());
      const before = Date.now();
      const sneaky = { online: true, accountId: 'other-account', clientId: 'other-device', modifiedOn: 1, extra: 'x' } as DevicePatch;
      const device = await store.upsertDevice(account.id, 'device-1', sneaky);
      assert.equal(device.accountId, account.id);
      assert.equal(device.clientId, 'device-1');
      assert.ok(device.modifiedOn >= before);
      assert.ok(!('extra' in device));
      assert.deepEqual(await store.getDevice(account.id, 'device-1'), device);
      assert.equal(await store.getDevice('other-account', 'other-device'), null);
    });

    it('answers null for an unknown device, also for a known clientId in another account', async (t) => {
      const { store } = await fresh(t);
      const [one, two] = [await store.createAccount(newAccount()), await store.createAccount(newAccount())];
      await store.upsertDevice(one.id, 'device-1', { online: true });
      assert.equal(await store.getDevice(one.id, 'no-such-device'), null);
      assert.equal(await store.getDevice(two.id, 'device-1'), null);
      assert.equal(await store.getDevice('no-such-account', 'device-1'), null);
    });

    it('keeps a device per account: the same clientId in two accounts is two records', async (t) => {
      const { store } = await fresh(t);
      const [one, two] = [await store.createAccount(newAccount()), await store.createAccount(newAccount())];
      const inOne = await store.upsertDevice(one.id, 'shared', { online: true });
      const inTwo = await store.upsertDevice(two.id, 'shared', { certificateSerial: 'ff' });
      assert.deepEqual(await store.getDevice(one.id, 'shared'), inOne);
      assert.deepEqual(await store.getDevice(two.id, 'shared'), inTwo);
      assert.equal(inOne.certificateSerial, null);
      assert.equal(inTwo.online, false);
    });

    it('lists devices ordered by accountId then clientId, with the total', async (t) => {
      const { store } = await fresh(t);
      const { devices } = await seedDevices(store);
      const page = await store.listDevices();
      assert.deepEqual(keysOf(page.items), keysOf(inDeviceOrder(devices)));
      assert.deepEqual(page, { items: inDeviceOrder(devices), total: 8, offset: 0, limit: 50 });
      assert.deepEqual(await store.listDevices({}), page);
    });

    it('filters devices by account, clientId and online, alone and combined', async (t) => {
      const { store } = await fresh(t);
      const { accounts, devices } = await seedDevices(store);
      const [one, two] = accounts;
      await assertListing(store, devices, { accountId: one }, (device) => device.accountId === one);
      await assertListing(store, devices, { accountId: two }, (device) => device.accountId === two);
      await assertListing(store, devices, { accountId: 'no-such-account' }, () => false);
      await assertListing(store, devices, { clientId: 'sensor-a' }, (device) => device.clientId === 'sensor-a');
      await assertListing(store, devices, { clientId: 'sensor' }, () => false);
      await assertListing(store, devices, { online: true }, (device) => device.online);
      await assertListing(store, devices, { online: false }, (device) => !device.online);
      await assertListing(store, devices, { accountId: one, online: true }, (device) => device.accountId === one && device.online);
      await assertListing(
        store,
        devices,
        { accountId: two, clientId: 'sensor-b', online: true },
        (device) => device.accountId === two && device.clientId === 'sensor-b',
      );
      await assertListing(store, devices, { accountId: two, clientId: 'sensor-b', online: false }, () => false);
    });

    it('pages devices with offset and limit, the total counting every match', async (t) => {
      const { store } = await fresh(t);
      const { accounts, devices } = await seedDevices(store);
      const collected: DeviceRecord[] = [];
      for (let offset = 0; offset < 8; offset += 3) {
        const page = await store.listDevices({ offset, limit: 3 });
        assert.equal(page.total, 8);
        assert.equal(page.limit, 3);
        collected.push(...page.items);
      }
      assert.deepEqual(collected, inDeviceOrder(devices));
      assert.deepEqual(await store.listDevices({ offset: 100, limit: 3 }), { items: [], total: 8, offset: 100, limit: 3 });
      await assertListing(store, devices, { accountId: accounts[0], offset: 1, limit: 2 }, (device) => device.accountId === accounts[0]);
      await assertListing(store, devices, { online: true, offset: 2, limit: 10 }, (device) => device.online);
      await assertListing(store, devices, { online: false, offset: 0, limit: 0 }, (device) => !device.online);
      await assertListing(store, devices, { clientId: 'sensor-a', offset: 1, limit: 1 }, (device) => device.clientId === 'sensor-a');
    });

    it('lists an updated device in place, with its new state', async (t) => {
      const { store } = await fresh(t);
      const { accounts, devices } = await seedDevices(store);
      const updated = await store.upsertDevice(accounts[0], 'Sensor-a', { online: true });
      const now = devices.map((device) => (device.accountId === accounts[0] && device.clientId === 'Sensor-a' ? updated : device));
      await assertListing(store, now, {}, () => true);
      await assertListing(store, now, { online: true }, (device) => device.online);
    });

    it('deletes a device; an unknown one is NOT_FOUND', async (t) => {
      const { store } = await fresh(t);
      const [one, two] = [await store.createAccount(newAccount()), await store.createAccount(newAccount())];
      await store.upsertDevice(one.id, 'device-1', { online: true, certificateSerial: 'serial-1' });
      const kept = await store.upsertDevice(one.id, 'device-2', {});
      const elsewhere = await store.upsertDevice(two.id, 'device-1', {});
      await store.deleteDevice(one.id, 'device-1');
      assert.equal(await store.getDevice(one.id, 'device-1'), null);
      assert.deepEqual((await store.listDevices({ accountId: one.id })).items, [kept]);
      assert.deepEqual((await store.listDevices({ clientId: 'device-1' })).items, [elsewhere]);
      assert.equal((await store.listDevices()).total, 2);
      await rejectsWith(store.deleteDevice(one.id, 'device-1'), 'NOT_FOUND', refusal.deviceNotFound);
      await rejectsWith(store.deleteDevice(one.id, 'no-such-device'), 'NOT_FOUND', refusal.deviceNotFound);
      await rejectsWith(store.deleteDevice('no-such-account', 'device-2'), 'NOT_FOUND', refusal.deviceNotFound);
      // A deleted device comes back from scratch, not with its old state.
      const again = await store.upsertDevice(one.id, 'device-1', { lastSeenOn: 5 });
      assert.equal(again.online, false);
      assert.equal(again.certificateSerial, null);
      assert.equal(again.lastSeenOn, 5);
    });

    it('loses no field when upserts of different fields run concurrently on separate connections', async (t) => {
      const { store, openAnother } = await fresh(t);
      const other = await openAnother();
      t.after(() => other.close());
      const account = await store.createAccount(newAccount());
      // The device does not exist yet: every upsert races to create it too.
      const patches: DevicePatch[] = [
        { online: true },
        { certificateSerial: 'serial-1' },
        { expectedConfigurationHash: 'expected-1' },
        { reportedConfigurationHash: 'reported-1' },
        { provisionedOn: 1001 },
        { lastBirthOn: 1002 },
        { lastSeenOn: 1003 },
      ];
      const results = await Promise.all(patches.map((patch, index) => (index % 2 ? other : store).upsertDevice(account.id, 'contested', patch)));
      const stored = await store.getDevice(account.id, 'contested');
      assert.ok(stored);
      assert.deepEqual(
        { ...stored, modifiedOn: 0 },
        {
          ...noRegistryFields,
          id: stored.id,
          accountId: account.id,
          clientId: 'contested',
          online: true,
          certificateSerial: 'serial-1',
          expectedConfigurationHash: 'expected-1',
          reportedConfigurationHash: 'reported-1',
          provisionedOn: 1001,
          lastBirthOn: 1002,
          lastSeenOn: 1003,
          modifiedOn: 0,
        },
      );
      assert.ok(
        results.some((result) => isSame(result, stored)),
        'the stored record is what the last upsert answered',
      );
      for (const [index, result] of results.entries()) {
        const written = patches[index] ?? {};
        for (const [field, value] of Object.entries(written))
          assert.equal(result[field as keyof DeviceRecord], value, 'each upsert answers its own write applied');
      }
      assert.equal((await store.listDevices({ accountId: account.id })).total, 1);
    });

    it('ends in one of the written states when many upserts of one field race', async (t) => {
      const { store, openAnother } = await fresh(t);
      const other = await openAnother();
      t.after(() => other.close());
      const account = await store.createAccount(newAccount());
      await store.upsertDevice(account.id, 'contested', { online: true, certificateSerial: 'serial-1' });
      const results = await Promise.all(
        Array.from({ length: 10 }, (_, index) =>
          (index % 2 ? other : store).upsertDevice(account.id, 'contested', { lastSeenOn: 2000 + index, online: index % 3 === 0 }),
        ),
      );
      const stored = await store.getDevice(account.id, 'contested');
      assert.ok(stored);
      assert.ok(
        results.some((result) => isSame(result, stored)),
        'the stored record is one of the written states',
      );
      assert.ok(results.some((result) => result.lastSeenOn === stored.lastSeenOn && result.online === stored.online));
      assert.equal(stored.certificateSerial, 'serial-1', 'fields nobody patched are kept');
      assert.equal((await store.listDevices()).total, 1);
    });

    it('keeps devices after close and reopen', async (t) => {
      const { store, openAnother } = await fresh(t);
      const account = await store.createAccount(newAccount());
      const online = await store.upsertDevice(account.id, 'device-1', { online: true, lastBirthOn: 1000, reportedConfigurationHash: 'h1' });
      const offline = await store.upsertDevice(account.id, 'device-2', { certificateSerial: 'serial-2', provisionedOn: 900 });
      await store.close();
      const reopened = await openAnother();
      t.after(() => reopened.close());
      assert.deepEqual(await reopened.getDevice(account.id, 'device-1'), online);
      assert.deepEqual(await reopened.listDevices({ accountId: account.id }), { items: [online, offline], total: 2, offset: 0, limit: 50 });
      assert.deepEqual((await reopened.listDevices({ online: true })).items, [online]);
      const patched = await reopened.upsertDevice(account.id, 'device-2', { online: true });
      assert.deepEqual(patched, { ...offline, online: true, modifiedOn: patched.modifiedOn });
      await reopened.deleteDevice(account.id, 'device-1');
      await rejectsWith(reopened.deleteDevice(account.id, 'device-1'), 'NOT_FOUND');
    });
  });
}

function isSame(a: DeviceRecord, b: DeviceRecord): boolean {
  try {
    assert.deepEqual(a, b);
    return true;
  } catch {
    return false;
  }
}
