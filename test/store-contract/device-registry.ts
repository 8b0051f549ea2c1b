import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { DevicePatch } from '../../store/types.ts';
import { newAccount, nextMillisecond, type FreshStore } from './fixtures.ts';

/** Every registry field set: what a device known in full looks like. */
const everyField = {
  online: true,
  brokerId: 'broker-1',
  category: 'sensors',
  tags: ['roof', 'north', 'roof'],
  model: 'ReliaGATE 10-12 ünïcode',
  serial: 'SN-0042',
  firmware: '5.4.0',
  certificateSerial: '00ab12',
  certificateNotAfter: 1_765_432_109_876,
  configurationId: 'configuration-1',
  configurationVersion: 7,
  expectedConfigurationHash: 'sha256:expected',
  reportedConfigurationHash: 'sha256:reported',
  configurationState: 'REFUSED',
  configurationError: 'unknown key broker.url',
  bundles: [
    { name: 'telemetry', version: '2.1.0', sha256: 'ab'.repeat(32) },
    { name: 'modbus', version: '1.0.0', sha256: 'cd'.repeat(32) },
  ],
  trustedRoots: ['f0'.repeat(32), '0f'.repeat(32), 'f0'.repeat(32)],
  provisionedOn: 1_700_000_000_001,
  lastBirthOn: 1_700_000_000_002,
  lastSeenOn: 1_700_000_000_003,
} as const satisfies DevicePatch;

/** Every nullable registry field cleared, the lists emptied. */
const everyFieldCleared = {
  brokerId: null,
  category: null,
  tags: [],
  model: null,
  serial: null,
  firmware: null,
  certificateSerial: null,
  certificateNotAfter: null,
  configurationId: null,
  configurationVersion: null,
  expectedConfigurationHash: null,
  reportedConfigurationHash: null,
  configurationState: null,
  configurationError: null,
  bundles: [],
  trustedRoots: [],
  provisionedOn: null,
  lastBirthOn: null,
  lastSeenOn: null,
} as const satisfies DevicePatch;

/** The device registry's records (issue 15 §1): a lasting id, every field, and marking a dead broker's devices offline. */
export function deviceRegistryContract(fresh: FreshStore): void {
  describe('device registry', () => {
    it('gives a new device an id that stays through later upserts, by which getDeviceById finds it', async (t) => {
      const { store, openAnother } = await fresh(t);
      const [one, two] = [await store.createAccount(newAccount()), await store.createAccount(newAccount())];
      const created = await store.upsertDevice(one.id, 'device-1', {});
      assert.equal(typeof created.id, 'string');
      assert.ok(created.id.length > 0);
      assert.deepEqual(await store.getDeviceById(created.id), created);
      const patched = await store.upsertDevice(one.id, 'device-1', { online: true, brokerId: 'broker-1' });
      assert.equal(patched.id, created.id);
      const other = await openAnother();
      t.after(() => other.close());
      const fromOther = await other.upsertDevice(one.id, 'device-1', { tags: ['x'] });
      assert.equal(fromOther.id, created.id);
      assert.deepEqual(await store.getDeviceById(created.id), fromOther);
      assert.deepEqual(await other.getDeviceById(created.id), fromOther);
      assert.deepEqual(await store.getDevice(one.id, 'device-1'), fromOther);
      const sameClientElsewhere = await store.upsertDevice(two.id, 'device-1', {});
      const second = await store.upsertDevice(one.id, 'device-2', {});
      assert.equal(new Set([created.id, sameClientElsewhere.id, second.id]).size, 3, 'each device its own id');
      assert.deepEqual(await store.getDeviceById(sameClientElsewhere.id), sameClientElsewhere);
      assert.deepEqual(await store.getDeviceById(second.id), second);
      assert.equal(await store.getDeviceById('no-such-id'), null);
    });

    it('ignores an id spread into a patch, and forgets the id of a deleted device', async (t) => {
      const { store } = await fresh(t);
      const account = await store.createAccount(newAccount());
      const created = await store.upsertDevice(account.id, 'device-1', { id: 'forged-1' } as DevicePatch);
      assert.notEqual(created.id, 'forged-1');
      const patched = await store.upsertDevice(account.id, 'device-1', { id: 'forged-2', online: true } as DevicePatch);
      assert.equal(patched.id, created.id);
      assert.equal(await store.getDeviceById('forged-1'), null);
      assert.equal(await store.getDeviceById('forged-2'), null);
      assert.deepEqual(await store.getDeviceById(created.id), patched);
      await store.deleteDevice(account.id, 'device-1');
      assert.equal(await store.getDeviceById(created.id), null);
      const again = await store.upsertDevice(account.id, 'device-1', {});
      assert.deepEqual(await store.getDeviceById(again.id), again);
    });

    it('round-trips every registry field, tags and trusted roots sorted and without repeats, and null clears each', async (t) => {
      const { store, openAnother } = await fresh(t);
      const account = await store.createAccount(newAccount());
      const device = await store.upsertDevice(account.id, 'device-1', everyField);
      assert.deepEqual(
        { ...device },
        {
          ...everyField,
          tags: ['north', 'roof'],
          trustedRoots: ['0f'.repeat(32), 'f0'.repeat(32)],
          id: device.id,
          accountId: account.id,
          clientId: 'device-1',
          modifiedOn: device.modifiedOn,
        },
      );
      assert.deepEqual(await store.getDevice(account.id, 'device-1'), device);
      assert.deepEqual(await store.getDeviceById(device.id), device);
      assert.deepEqual((await store.listDevices({ accountId: account.id })).items, [device]);
      const other = await openAnother();
      t.after(() => other.close());
      assert.deepEqual(await other.getDevice(account.id, 'device-1'), device);
      await nextMillisecond();
      const cleared = await store.upsertDevice(account.id, 'device-1', { ...everyFieldCleared, online: false });
      assert.ok(cleared.modifiedOn > device.modifiedOn);
      assert.deepEqual(
        { ...cleared },
        { ...everyFieldCleared, online: false, id: device.id, accountId: account.id, clientId: 'device-1', modifiedOn: cleared.modifiedOn },
      );
      assert.deepEqual(await store.getDevice(account.id, 'device-1'), cleared);
      assert.deepEqual(await other.getDeviceById(device.id), cleared);
    });

    it('keeps the registry fields a patch does not name', async (t) => {
      const { store } = await fresh(t);
      const account = await store.createAccount(newAccount());
      const device = await store.upsertDevice(account.id, 'device-1', everyField);
      const patched = await store.upsertDevice(account.id, 'device-1', { lastSeenOn: 9, configurationState: 'APPLIED', configurationError: null });
      assert.deepEqual({ ...patched }, { ...device, lastSeenOn: 9, configurationState: 'APPLIED', configurationError: null, modifiedOn: patched.modifiedOn });
      assert.deepEqual(await store.getDeviceById(device.id), patched);
    });

    it('stores tags sorted and without repeats, an empty list clearing them', async (t) => {
      const { store } = await fresh(t);
      const account = await store.createAccount(newAccount());
      const first = await store.upsertDevice(account.id, 'device-1', { tags: ['b', 'a', 'b', 'C', 'a'] });
      assert.deepEqual(first.tags, ['C', 'a', 'b']);
      assert.deepEqual((await store.getDevice(account.id, 'device-1'))?.tags, ['C', 'a', 'b']);
      const kept = await store.upsertDevice(account.id, 'device-1', { online: true });
      assert.deepEqual(kept.tags, ['C', 'a', 'b']);
      const replaced = await store.upsertDevice(account.id, 'device-1', { tags: ['z', 'z'] });
      assert.deepEqual(replaced.tags, ['z']);
      const cleared = await store.upsertDevice(account.id, 'device-1', { tags: [] });
      assert.deepEqual(cleared.tags, []);
      assert.deepEqual((await store.getDevice(account.id, 'device-1'))?.tags, []);
    });

    it('keeps only the name, version and sha256 of each bundle', async (t) => {
      const { store } = await fresh(t);
      const account = await store.createAccount(newAccount());
      const bundle = { name: 'telemetry', version: '2.1.0', sha256: 'ab'.repeat(32), secret: 'dropped' };
      const device = await store.upsertDevice(account.id, 'device-1', { bundles: [bundle] });
      assert.deepEqual(device.bundles, [{ name: 'telemetry', version: '2.1.0', sha256: 'ab'.repeat(32) }]);
      assert.deepEqual(await store.getDevice(account.id, 'device-1'), device);
    });

    it('marks offline only the devices online on the broker, setting lastSeenOn, answering the count; a second call answers 0', async (t) => {
      const { store } = await fresh(t);
      const [one, two] = [await store.createAccount(newAccount()), await store.createAccount(newAccount())];
      const onBroker = [
        await store.upsertDevice(one.id, 'on-1', { online: true, brokerId: 'broker-1', lastSeenOn: 10, tags: ['a'] }),
        await store.upsertDevice(one.id, 'on-2', { online: true, brokerId: 'broker-1', lastSeenOn: null }),
        await store.upsertDevice(two.id, 'on-1', { online: true, brokerId: 'broker-1', lastSeenOn: 20 }),
      ];
      const leftAlone = [
        await store.upsertDevice(one.id, 'offline-on-1', { online: false, brokerId: 'broker-1', lastSeenOn: 30 }),
        await store.upsertDevice(one.id, 'on-2-broker', { online: true, brokerId: 'broker-2', lastSeenOn: 40 }),
        await store.upsertDevice(one.id, 'on-broker-10', { online: true, brokerId: 'broker-10', lastSeenOn: 50 }),
        await store.upsertDevice(one.id, 'online-no-broker', { online: true, lastSeenOn: 60 }),
      ];
      // Was on broker-1, has since come online on broker-3.
      await store.upsertDevice(one.id, 'moved', { online: true, brokerId: 'broker-1', lastSeenOn: 70 });
      const moved = await store.upsertDevice(one.id, 'moved', { online: true, brokerId: 'broker-3', lastSeenOn: 80 });
      leftAlone.push(moved);
      const now = 1_765_432_109_876;
      assert.equal(await store.markBrokerDevicesOffline('broker-1', now), 3);
      for (const before of onBroker) {
        const after = await store.getDeviceById(before.id);
        assert.ok(after);
        assert.deepEqual(
          { ...after, modifiedOn: 0 },
          { ...before, online: false, lastSeenOn: now, modifiedOn: 0 },
          `${before.clientId}: only online and lastSeenOn change`,
        );
      }
      for (const before of leftAlone) assert.deepEqual(await store.getDeviceById(before.id), before, `${before.clientId} is left alone`);
      assert.equal((await store.listDevices({ brokerId: 'broker-1', online: true })).total, 0);
      assert.equal(await store.markBrokerDevicesOffline('broker-1', now + 1), 0);
      assert.equal((await store.getDevice(one.id, 'on-1'))?.lastSeenOn, now, 'the second call touched nothing');
      assert.equal(await store.markBrokerDevicesOffline('no-such-broker', now), 0);
    });

    it('never marks offline a device that comes online on another broker while the broker is marked', async (t) => {
      const { store, openAnother } = await fresh(t);
      const other = await openAnother();
      t.after(() => other.close());
      const account = await store.createAccount(newAccount());
      const clientIds = Array.from({ length: 40 }, (_, index) => `device-${String(index).padStart(2, '0')}`);
      for (const clientId of clientIds) await store.upsertDevice(account.id, clientId, { online: true, brokerId: 'broker-1' });
      const movers = clientIds.filter((_, index) => index % 2 === 0);
      const moving = Promise.all(movers.map((clientId) => other.upsertDevice(account.id, clientId, { online: true, brokerId: 'broker-2', lastSeenOn: 6000 })));
      const [changed] = await Promise.all([store.markBrokerDevicesOffline('broker-1', 5000), moving]);
      assert.ok(changed >= clientIds.length - movers.length && changed <= clientIds.length, `changed ${changed}`);
      for (const device of (await store.listDevices({ accountId: account.id })).items) {
        if (movers.includes(device.clientId)) {
          assert.deepEqual([device.online, device.brokerId, device.lastSeenOn], [true, 'broker-2', 6000], `${device.clientId} came online on broker-2`);
        } else {
          assert.deepEqual([device.online, device.brokerId, device.lastSeenOn], [false, 'broker-1', 5000], `${device.clientId} was marked offline`);
        }
      }
    });

    it('marks one device offline after its connection to a broker ended, unless it is online on another broker', async (t) => {
      const { store } = await fresh(t);
      const account = await store.createAccount(newAccount());
      const here = await store.upsertDevice(account.id, 'here', { online: true, brokerId: 'broker-1', lastSeenOn: 10, tags: ['x'] });
      assert.equal(await store.markDeviceOffline(account.id, 'here', 'broker-1', 100), true);
      assert.deepEqual({ ...(await store.getDevice(account.id, 'here')), modifiedOn: 0 }, { ...here, online: false, lastSeenOn: 100, modifiedOn: 0 });
      // Already offline: lastSeenOn still moves (a birth held since before the disconnect is then known to be stale).
      assert.equal(await store.markDeviceOffline(account.id, 'here', 'broker-1', 200), true);
      assert.equal((await store.getDevice(account.id, 'here'))?.lastSeenOn, 200);

      const moved = await store.upsertDevice(account.id, 'moved', { online: true, brokerId: 'broker-2', lastSeenOn: 300 });
      assert.equal(await store.markDeviceOffline(account.id, 'moved', 'broker-1', 400), false);
      assert.deepEqual(await store.getDevice(account.id, 'moved'), moved, 'online on broker-2: left alone');

      await store.upsertDevice(account.id, 'no-broker', { online: true });
      assert.equal(await store.markDeviceOffline(account.id, 'no-broker', 'broker-1', 500), true);
      assert.equal((await store.getDevice(account.id, 'no-broker'))?.online, false);

      assert.equal(await store.markDeviceOffline(account.id, 'nobody', 'broker-1', 600), false);
      assert.equal(await store.getDevice(account.id, 'nobody'), null, 'no record is made');
    });

    it('writes an event only when no disconnect was recorded after it (upsertDeviceUnlessOfflineSince)', async (t) => {
      const { store } = await fresh(t);
      const account = await store.createAccount(newAccount());
      // No record yet: made.
      const made = await store.upsertDeviceUnlessOfflineSince(account.id, 'dev', { online: true, brokerId: 'b-1', lastSeenOn: 100 }, 90);
      assert.equal(made?.online, true);
      // Online: a later event is written.
      assert.equal((await store.upsertDeviceUnlessOfflineSince(account.id, 'dev', { lastBirthOn: 150 }, 140))?.lastBirthOn, 150);
      // Disconnect recorded at 200: an event received at 190 (before it) is stale, one at 200 or before too; nothing changes.
      await store.markDeviceOffline(account.id, 'dev', 'b-1', 200);
      const offline = await store.getDevice(account.id, 'dev');
      assert.equal(await store.upsertDeviceUnlessOfflineSince(account.id, 'dev', { online: true, lastSeenOn: 210 }, 190), null);
      assert.equal(await store.upsertDeviceUnlessOfflineSince(account.id, 'dev', { online: true, lastSeenOn: 210 }, 200), null);
      assert.deepEqual(await store.getDevice(account.id, 'dev'), offline, 'a stale event changes nothing');
      // An event received after the disconnect (a new connection's birth) is written.
      const back = await store.upsertDeviceUnlessOfflineSince(account.id, 'dev', { online: true, brokerId: 'b-2', lastSeenOn: 260 }, 250);
      assert.deepEqual([back?.online, back?.brokerId, back?.lastSeenOn], [true, 'b-2', 260]);
      assert.equal((await store.listDevices({ brokerId: 'b-2', online: true })).total, 1);
    });
  });
}
