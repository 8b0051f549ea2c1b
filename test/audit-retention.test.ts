import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { mkdtemp, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it, type TestContext } from 'node:test';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { AuditRetention, retentionBatchSize, type AuditRetentionSettings } from '../store/audit-retention.ts';
import { openRedisStore } from '../store/redis/redis-store.ts';
import { openSqliteStore } from '../store/sqlite/sqlite-store.ts';
import type { AuditEvent, NewAuditEvent, ProvisionStore } from '../store/types.ts';
import { startTestPlatform } from './support/platform-fixture.ts';
import { requireRedisOrSkip, startRedisOrSkip } from '../dev-support/redis-server.ts';

const day = 24 * 60 * 60 * 1000;
const redis = await startRedisOrSkip();
after(() => redis?.stop());

async function tempDir(t: TestContext): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'provisio-retention-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  return dir;
}

function event(time: number, index = 0): NewAuditEvent {
  return {
    type: 'device.birth',
    outcome: 'success',
    actor: 'account-broker',
    accountId: 'a1',
    clientId: `device-${index}`,
    provisionRequestId: null,
    detail: { index },
    time,
  };
}

/** Appends `count` events at `time` (+ index ms), in chunks so neither backend gets one huge turn. */
async function appendMany(store: ProvisionStore, count: number, time: number): Promise<AuditEvent[]> {
  const appended: AuditEvent[] = [];
  for (let start = 0; start < count; start += 1000) {
    const chunk = Array.from({ length: Math.min(1000, count - start) }, (_, offset) => store.appendAudit(event(time + start + offset, start + offset)));
    appended.push(...(await Promise.all(chunk)));
  }
  return appended.sort((a, b) => Number(a.id) - Number(b.id));
}

const silentLog = { info() {}, warn() {} };

function collectingLog() {
  const lines: { level: string; object: object; message: string }[] = [];
  return {
    lines,
    info: (object: object, message: string) => void lines.push({ level: 'info', object, message }),
    warn: (object: object, message: string) => void lines.push({ level: 'warn', object, message }),
  };
}

function settings(overrides: Partial<AuditRetentionSettings> = {}): AuditRetentionSettings {
  return { retentionDays: 90, maxEvents: 0, intervalMs: 3_600_000, ...overrides };
}

type Backend = { name: string; open(t: TestContext): Promise<ProvisionStore | null> };

const backends: Backend[] = [
  {
    name: 'sqlite',
    async open(t) {
      const store = openSqliteStore(join(await tempDir(t), 'provisio.db'));
      t.after(() => store.close());
      return store;
    },
  },
  {
    name: 'redis',
    async open(t) {
      if (!requireRedisOrSkip(t, redis)) return null;
      const store = await openRedisStore({ url: redis.url, keyPrefix: `retention:${randomUUID()}:` });
      t.after(() => store.close());
      return store;
    },
  },
];

for (const backend of backends) {
  describe(`audit retention on ${backend.name}`, () => {
    it('deletes every event older than the retention age in batches of 500 and keeps the younger ones', async (t) => {
      const store = await backend.open(t);
      if (!store) return;
      const now = Date.now();
      await appendMany(store, 1234, now - 100 * day);
      const young = await appendMany(store, 3, now - 89 * day);
      const retention = new AuditRetention(store, settings(), silentLog);
      const batches: number[] = [];
      const counting = {
        ...store,
        deleteExpiredAudit: async (...args: Parameters<ProvisionStore['deleteExpiredAudit']>) => {
          const deleted = await store.deleteExpiredAudit(...args);
          batches.push(deleted);
          return deleted;
        },
      } as ProvisionStore;
      const run = await new AuditRetention(counting, settings(), silentLog).runOnce();
      assert.deepEqual(run, { deleted: 1234, deletedYoung: 0 });
      assert.deepEqual(batches, [retentionBatchSize, retentionBatchSize, 234], 'bounded batches, the last one short');
      assert.deepEqual((await store.listAudit({ limit: 100 })).items, young);
      assert.deepEqual(await retention.runOnce(), { deleted: 0, deletedYoung: 0 });
    });

    it('keeps everything with retention 0 and no count bound, and never schedules a run', async (t) => {
      const store = await backend.open(t);
      if (!store) return;
      await appendMany(store, 5, 1000);
      const retention = new AuditRetention(store, settings({ retentionDays: 0, maxEvents: 0 }), silentLog);
      assert.equal(retention.enabled, false);
      assert.deepEqual(await retention.runOnce(), { deleted: 0, deletedYoung: 0 });
      assert.equal((await store.listAudit()).total, 5);
    });

    it('keeps at most maxEvents, reporting the events it deleted before their retention age', async (t) => {
      const store = await backend.open(t);
      if (!store) return;
      const now = Date.now();
      await appendMany(store, 10, now - 200 * day);
      const recent = await appendMany(store, 30, now - day);
      const log = collectingLog();
      const retention = new AuditRetention(store, settings({ maxEvents: 25, intervalMs: 1000 }), log);
      assert.deepEqual(await retention.runOnce(), { deleted: 15, deletedYoung: 5 });
      assert.deepEqual((await store.listAudit({ limit: 100 })).items, recent.slice(5));
    });

    it('archives each batch as NDJSON (files 0600 in a 0700 directory) before deleting it', async (t) => {
      const store = await backend.open(t);
      if (!store) return;
      const archiveDir = join(await tempDir(t), 'archive');
      const now = Date.now();
      const dayOne = Date.parse('2020-01-01T23:59:59.700Z'); // 600 events 1 ms apart: across midnight
      const old = [...(await appendMany(store, 600, dayOne)), ...(await appendMany(store, 2, Date.parse('2020-01-03T00:00:00.000Z')))];
      await appendMany(store, 2, now);
      await new AuditRetention(store, settings({ archiveDir }), silentLog).runOnce();
      assert.deepEqual((await readdir(archiveDir)).sort(), ['audit-2020-01-01.ndjson', 'audit-2020-01-02.ndjson', 'audit-2020-01-03.ndjson']);
      assert.equal((await stat(archiveDir)).mode & 0o777, 0o700);
      const archived: unknown[] = [];
      for (const name of (await readdir(archiveDir)).sort()) {
        assert.equal((await stat(join(archiveDir, name))).mode & 0o777, 0o600, name);
        archived.push(
          ...(await readFile(join(archiveDir, name), 'utf8'))
            .trimEnd()
            .split('\n')
            .map((line) => JSON.parse(line)),
        );
      }
      assert.deepEqual(
        archived,
        old.map((item) => ({ ...item, time: new Date(item.time).toISOString() })),
        'every deleted event, once, as the admin API shows it',
      );
      assert.equal((await store.listAudit({ limit: 0 })).total, 2);
    });

    it('deletes nothing when the archive cannot be written, and says why', async (t) => {
      const store = await backend.open(t);
      if (!store) return;
      const file = join(await tempDir(t), 'a-file');
      await writeFile(file, 'not a directory');
      const events = await appendMany(store, 3, 1000);
      const retention = new AuditRetention(store, settings({ archiveDir: join(file, 'archive') }), silentLog);
      await assert.rejects(retention.runOnce(), (error: NodeJS.ErrnoException) => error.code === 'ENOTDIR' || error.code === 'EEXIST');
      assert.deepEqual((await store.listAudit()).items, events);
    });

    it('never holds the event loop for long while it deletes 20,000 events', async (t) => {
      const store = await backend.open(t);
      if (!store) return;
      await appendMany(store, 20_000, 1000);
      const delay = monitorEventLoopDelay({ resolution: 5 });
      delay.enable();
      const started = performance.now();
      const run = await new AuditRetention(store, settings(), silentLog).runOnce();
      const elapsed = performance.now() - started;
      delay.disable();
      assert.equal(run.deleted, 20_000);
      const longestMs = delay.max / 1e6;
      t.diagnostic(`${backend.name}: 20,000 events deleted in ${elapsed.toFixed(0)} ms, longest event-loop block ${longestMs.toFixed(1)} ms`);
      assert.ok(longestMs < 250, `the event loop was held ${longestMs.toFixed(1)} ms`);
    });
  });
}

describe('audit retention in a running platform', () => {
  for (const backend of ['sqlite', 'redis'] as const) {
    it(`deletes expired events in the background and archives them first (${backend})`, async (t) => {
      if (backend === 'redis' && !requireRedisOrSkip(t, redis)) return;
      const archiveDir = join(await tempDir(t), 'archive');
      const platform = await startTestPlatform({
        auditRetentionDays: 30,
        auditRetentionIntervalSeconds: 1,
        auditArchiveDir: archiveDir,
        ...(backend === 'redis' && redis ? { storeBackend: 'redis', redisUrl: redis.url, redisKeyPrefix: `retention:${randomUUID()}:` } : {}),
      });
      t.after(() => platform.close());
      const { store } = platform.platform;
      const old = await appendMany(store, 700, Date.now() - 31 * day);
      const kept = await store.appendAudit(event(Date.now() - 29 * day));
      const deadline = Date.now() + 15_000;
      while ((await store.listAudit({ limit: 0 })).total > 1 && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 200));
      assert.deepEqual((await store.listAudit()).items, [kept], 'the old events are gone, the young one kept');
      const lines = (await Promise.all((await readdir(archiveDir)).map((name) => readFile(join(archiveDir, name), 'utf8')))).join('').trimEnd().split('\n');
      assert.deepEqual(new Set(lines.map((line) => (JSON.parse(line) as { id: string }).id)), new Set(old.map((item) => item.id)));
      assert.match(platform.logText(), /audit retention deleted expired events/);
    });
  }
});
