import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { Redis } from 'ioredis';
import { decodeSessionEndFields, encodeSessionEndFields, sessionEndStreamKey, type SessionEndNotice } from '../cluster/session-end-notice.ts';
import { currentSessionEndPosition, followSessionEnds, sessionEndPublisher, type SessionEndFollower } from '../cluster/session-end-stream.ts';
import { createLogger } from '../log/logger.ts';
import { startRedisOrSkip, type RedisServer } from '../dev-support/redis-server.ts';

/**
 * The session-end stream against a real redis-server: every reader gets every notice once, in
 * order, from where it stood; it resumes after losing Redis; and it says so when notices it had
 * not read are gone (trimmed, or Redis lost its data), so that its broker ends every session.
 */

const log = createLogger('silent');
const notice = (serial: string): SessionEndNotice => ({ kind: 'certificate', clientId: 'dev-1', serial, cause: 'revoked' });

/** Waits for accept() on what read() gives, up to deadlineMs. */
async function until<T>(read: () => T, accept: (value: T) => boolean, what: string, deadlineMs = 10_000): Promise<T> {
  const end = Date.now() + deadlineMs;
  for (;;) {
    const value = read();
    if (accept(value)) return value;
    if (Date.now() > end) assert.fail(`${what}: still ${JSON.stringify(value)}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

describe('session-end notices: encoding', () => {
  it('round-trips every kind and refuses entries that are not whole notices', () => {
    const notices: SessionEndNotice[] = [
      { kind: 'certificate', clientId: 'a', serial: '0f', cause: 'superseded' },
      { kind: 'provision-request', clientId: 'b', provisionRequestId: 'r-1', cause: 'disabled' },
      { kind: 'account', accountId: 'acc-1', cause: 'deleted' },
      { kind: 'factory-certificate', manufacturerCaId: 'ca-1', serial: '1001', cause: 'blocked' },
      { kind: 'enrollment-group', enrollmentGroupId: 'g-1', cause: 'disabled' },
      { kind: 'manufacturer-ca', manufacturerCaId: 'ca-1', cause: 'deleted' },
    ];
    for (const each of notices) {
      assert.deepEqual(decodeSessionEndFields(encodeSessionEndFields(each).map((field) => Buffer.from(field))), each);
    }
    const fields = (...values: string[]): Buffer[] => values.map((value) => Buffer.from(value));
    assert.equal(decodeSessionEndFields(fields('kind', 'certificate', 'cause', 'revoked', 'clientId', 'a')), null);
    assert.equal(decodeSessionEndFields(fields('kind', 'account', 'cause', 'whatever', 'accountId', 'x')), null);
    assert.equal(decodeSessionEndFields(fields('kind', 'device', 'cause', 'revoked', 'clientId', 'a')), null);
    assert.equal(decodeSessionEndFields(fields('kind', 'factory-certificate', 'cause', 'blocked', 'manufacturerCaId', 'ca-1')), null);
    assert.equal(decodeSessionEndFields(null), null);
  });
});

describe('session-end notices: the Redis stream', () => {
  let server: RedisServer | null;
  let writer: Redis;
  const followers: SessionEndFollower[] = [];
  let prefix = 0;

  before(async () => {
    server = await startRedisOrSkip({ persistent: true });
    if (server) writer = new Redis(server.url, { maxRetriesPerRequest: null });
  });
  after(async () => {
    await Promise.all(followers.map((follower) => follower.close()));
    writer?.disconnect();
    await server?.stop();
  });

  /** A reader on a connection of its own, from where the stream stands now, recording what it applies. */
  async function follow(keyPrefix: string, from?: Awaited<ReturnType<typeof currentSessionEndPosition>>) {
    const redis = new Redis(server!.url, { maxRetriesPerRequest: null, enableReadyCheck: false });
    redis.on('error', () => undefined);
    const applied: string[] = [];
    const gaps: string[] = [];
    const follower = followSessionEnds({
      redis,
      redisKeyPrefix: keyPrefix,
      from: from ?? (await currentSessionEndPosition(redis, keyPrefix)),
      apply: async (each) => void applied.push(each.kind === 'certificate' ? each.serial : each.kind),
      onGap: async (reason) => void gaps.push(reason),
      log,
    });
    followers.push(follower);
    return { applied, gaps, follower };
  }

  const freshPrefix = (): string => `t${++prefix}:`;

  it('gives every reader every notice added after it started, once and in order', async (t) => {
    if (!server) return t.skip('redis-server is not installed');
    const keyPrefix = freshPrefix();
    const publisher = sessionEndPublisher({ redis: writer, redisKeyPrefix: keyPrefix, maxLength: 1000 });
    await publisher.endSessions(notice('before'));
    const [first, second] = [await follow(keyPrefix), await follow(keyPrefix)];
    for (const serial of ['01', '02', '03']) await publisher.endSessions(notice(serial));
    for (const reader of [first, second])
      await until(
        () => reader.applied,
        (seen) => seen.length >= 3,
        'notices applied',
      );
    assert.deepEqual(first.applied, ['01', '02', '03'], 'a notice older than the reader is not applied');
    assert.deepEqual(second.applied, ['01', '02', '03']);
    assert.deepEqual([...first.gaps, ...second.gaps], []);
  });

  it('resumes from the last notice it read after its connection is killed and after Redis restarts', async (t) => {
    if (!server?.restart) return t.skip('redis-server is not installed');
    const keyPrefix = freshPrefix();
    const publisher = sessionEndPublisher({ redis: writer, redisKeyPrefix: keyPrefix, maxLength: 1000 });
    const reader = await follow(keyPrefix);
    await publisher.endSessions(notice('a'));
    await until(
      () => reader.applied,
      (seen) => seen.length === 1,
      'first notice',
    );

    // Its blocked XREAD is cut; the notice is added while it reconnects.
    const clients = String(await writer.call('CLIENT', 'LIST', 'TYPE', 'normal'));
    const blocked = clients
      .split('\n')
      .filter((line) => /cmd=xread\b/.test(line))
      .map((line) => /id=(\d+)/.exec(line)![1]!);
    assert.ok(blocked.length > 0, 'the reader blocks in XREAD');
    for (const id of blocked) await writer.call('CLIENT', 'KILL', 'ID', id);
    await publisher.endSessions(notice('b'));
    await until(
      () => reader.applied,
      (seen) => seen.length === 2,
      'notice added while the reader reconnected',
    );

    // Redis goes away and comes back with its data (append-only file).
    await server.restart();
    await publisher.endSessions(notice('c'));
    await until(
      () => reader.applied,
      (seen) => seen.length === 3,
      'notice added after Redis restarted',
    );
    assert.deepEqual(reader.applied, ['a', 'b', 'c']);
    assert.deepEqual(reader.gaps, []);
  });

  it('reports a gap when notices it had not read were trimmed', async (t) => {
    if (!server) return t.skip('redis-server is not installed');
    const keyPrefix = freshPrefix();
    const from = await currentSessionEndPosition(writer, keyPrefix);
    const publisher = sessionEndPublisher({ redis: writer, redisKeyPrefix: keyPrefix, maxLength: 1000 });
    for (let i = 0; i < 3000; i += 1) await publisher.endSessions(notice(`n${i}`));
    assert.ok((await writer.xlen(sessionEndStreamKey(keyPrefix))) < 3000, 'MAXLEN ~ trimmed the stream');
    // A broker that stood at the start while 3,000 notices came and 2,000 went.
    const reader = await follow(keyPrefix, from);
    const [reason] = await until(
      () => reader.gaps,
      (gaps) => gaps.length > 0,
      'gap reported',
    );
    assert.match(reason!, /trimmed/);
  });

  it('reports a gap when only a few unread notices were trimmed (MAXLEN ~ trims whole nodes)', async (t) => {
    if (!server) return t.skip('redis-server is not installed');
    const keyPrefix = freshPrefix();
    const from = await currentSessionEndPosition(writer, keyPrefix);
    const publisher = sessionEndPublisher({ redis: writer, redisKeyPrefix: keyPrefix, maxLength: 1000 });
    for (let i = 0; i < 1150; i += 1) await publisher.endSessions(notice(`m${i}`));
    const length = await writer.xlen(sessionEndStreamKey(keyPrefix));
    assert.ok(length < 1150 && length > 1000, `a node's worth trimmed (${length} left)`);
    const reader = await follow(keyPrefix, from);
    const [reason] = await until(
      () => reader.gaps,
      (gaps) => gaps.length > 0,
      'gap reported',
    );
    assert.match(reason!, /trimmed/);
  });

  it('reports a gap when Redis lost the stream', async (t) => {
    if (!server) return t.skip('redis-server is not installed');
    const keyPrefix = freshPrefix();
    const publisher = sessionEndPublisher({ redis: writer, redisKeyPrefix: keyPrefix, maxLength: 1000 });
    const reader = await follow(keyPrefix);
    await publisher.endSessions(notice('x'));
    await until(
      () => reader.applied,
      (seen) => seen.length === 1,
      'notice applied',
    );
    await writer.del(sessionEndStreamKey(keyPrefix));
    const [reason] = await until(
      () => reader.gaps,
      (gaps) => gaps.length > 0,
      'gap reported',
    );
    assert.match(reason!, /gone/);
    // And it carries on with what comes next.
    await publisher.endSessions(notice('y'));
    await until(
      () => reader.applied,
      (seen) => seen.length === 2,
      'next notice applied',
    );
  });
});
