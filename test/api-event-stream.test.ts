/**
 * GET /api/v1/events, the live audit stream the web console's rollout view follows: server-sent
 * events of the token's scope, starting after the newest event, resuming after Last-Event-ID.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { startTestPlatform, type TestPlatform } from './support/platform-fixture.ts';

interface StreamedEvent {
  readonly id: string;
  readonly event: string;
  readonly data: { type: string; accountId: string | null; clientId: string | null; readonly [field: string]: unknown };
}

/** Opens the stream and collects its events until `close` is called. */
async function openStream(url: string, token: string, lastEventId?: string) {
  const aborter = new AbortController();
  const response = await fetch(url, {
    headers: { authorization: `Bearer ${token}`, ...(lastEventId ? { 'last-event-id': lastEventId } : {}) },
    signal: aborter.signal,
  });
  const events: StreamedEvent[] = [];
  const reading = (async () => {
    const decoder = new TextDecoder();
    let buffer = '';
    try {
      for await (const chunk of response.body as AsyncIterable<Uint8Array>) {
        buffer += decoder.decode(chunk, { stream: true });
        let end: number;
        while ((end = buffer.indexOf('\n\n')) >= 0) {
          const block = buffer.slice(0, end);
          buffer = buffer.slice(end + 2);
          const field = (name: string) =>
            block
              .split('\n')
              .find((line) => line.startsWith(`${name}: `))
              ?.slice(name.length + 2);
          const data = field('data');
          if (data) events.push({ id: field('id') ?? '', event: field('event') ?? '', data: JSON.parse(data) });
        }
      }
    } catch {
      // aborted by close()
    }
  })();
  return {
    response,
    events,
    async until(predicate: (events: StreamedEvent[]) => boolean, what: string): Promise<void> {
      const deadline = Date.now() + 10_000;
      while (!predicate(events)) {
        assert.ok(Date.now() < deadline, `${what}; got ${JSON.stringify(events.map((event) => event.data.type))}`);
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
    },
    async close(): Promise<void> {
      aborter.abort();
      await reading;
    },
  };
}

describe('GET /api/v1/events (server-sent audit events)', () => {
  let fixture: TestPlatform;
  let acme = '';
  let globex = '';
  let acmeToken = '';

  before(async () => {
    fixture = await startTestPlatform();
    acme = (await fixture.api<{ id: string }>('POST', '/accounts', { name: 'acme' })).body.id;
    globex = (await fixture.api<{ id: string }>('POST', '/accounts', { name: 'globex' })).body.id;
    acmeToken = (await fixture.api<{ token: string }>('POST', '/api-tokens', { accountId: acme })).body.token;
  });
  after(() => fixture?.close());

  it('Should answer 401 without a token', async () => {
    const response = await fetch(`${fixture.apiUrl}/events`);
    assert.equal(response.status, 401);
    assert.match(response.headers.get('content-type') ?? '', /application\/problem\+json/);
  });

  it("Should stream new audit events as text/event-stream, an account token only its own account's", async () => {
    const admin = await openStream(`${fixture.apiUrl}/events`, fixture.adminToken);
    const own = await openStream(`${fixture.apiUrl}/events`, acmeToken);
    try {
      assert.equal(admin.response.status, 200);
      assert.match(admin.response.headers.get('content-type') ?? '', /^text\/event-stream/);
      assert.equal(admin.response.headers.get('cache-control'), 'no-store');
      await fixture.api('POST', '/provision-requests', { accountId: globex, clientId: 'GLOBEX-1' });
      await fixture.api('POST', '/provision-requests', { accountId: acme, clientId: 'ACME-1' });
      await admin.until((events) => events.some((event) => event.data.clientId === 'ACME-1'), 'the admin sees acme');
      await own.until((events) => events.some((event) => event.data.clientId === 'ACME-1'), 'acme sees its own');
      assert.ok(admin.events.some((event) => event.data.clientId === 'GLOBEX-1' && event.data.type === 'request.created'));
      assert.ok(admin.events.every((event) => event.event === 'audit' && /^\d+$/.test(event.id)));
      assert.ok(
        own.events.every((event) => event.data.accountId === acme),
        JSON.stringify(own.events),
      );
      assert.ok(!own.events.some((event) => event.data.clientId === 'GLOBEX-1'), "another account's events are not streamed");
      const ids = admin.events.map((event) => BigInt(event.id));
      assert.deepEqual(
        ids,
        [...ids].sort((a, b) => (a < b ? -1 : 1)),
        'in order, each once',
      );
      assert.equal(new Set(ids).size, ids.length);
    } finally {
      await admin.close();
      await own.close();
    }
  });

  it('Should start after the newest event, and resume after Last-Event-ID', async () => {
    const first = await openStream(`${fixture.apiUrl}/events`, fixture.adminToken);
    await fixture.api('POST', '/provision-requests', { accountId: acme, clientId: 'ACME-2' });
    await first.until((events) => events.some((event) => event.data.clientId === 'ACME-2'), 'ACME-2 streamed');
    assert.ok(!first.events.some((event) => event.data.clientId === 'ACME-1'), 'nothing from before the stream opened');
    const resumeAfter = first.events.find((event) => event.data.clientId === 'ACME-2')!.id;
    await first.close();
    await fixture.api('POST', '/provision-requests', { accountId: acme, clientId: 'ACME-3' });
    const resumed = await openStream(`${fixture.apiUrl}/events`, fixture.adminToken, resumeAfter);
    try {
      await resumed.until((events) => events.some((event) => event.data.clientId === 'ACME-3'), 'what was missed comes');
      assert.ok(!resumed.events.some((event) => event.data.clientId === 'ACME-2'), 'not what was seen');
    } finally {
      await resumed.close();
    }
  });

  it('Should stream, with format=public, only the events webhooks deliver, under their public type and in the webhook body', async () => {
    const stream = await openStream(`${fixture.apiUrl}/events?format=public`, fixture.adminToken);
    try {
      await fixture.api('POST', '/provision-requests', { accountId: globex, clientId: 'GLOBEX-PUBLIC' });
      await stream.until((events) => events.some((event) => event.data.clientId === 'GLOBEX-PUBLIC'), 'the public event streamed');
      const created = stream.events.find((event) => event.data.clientId === 'GLOBEX-PUBLIC')!;
      assert.equal(created.event, 'request.created');
      assert.equal(created.data.type, 'request.created');
      assert.equal(created.data.id, created.id, 'the event id is the audit id, as webhooks use it');
      assert.match(String(created.data.time), /^\d{4}-\d{2}-\d{2}T/);
      assert.ok('data' in created.data && !('detail' in created.data), 'the webhook body, not the audit view');
      assert.ok(
        stream.events.every((event) => event.event !== 'audit'),
        'no internal audit events',
      );
    } finally {
      await stream.close();
    }
    const refused = await fetch(`${fixture.apiUrl}/events?format=xml`, { headers: { authorization: `Bearer ${fixture.adminToken}` } });
    assert.equal(refused.status, 400);
  });
});
