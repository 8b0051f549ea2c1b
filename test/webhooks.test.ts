import assert from 'node:assert/strict';
import { createHmac, timingSafeEqual } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { parseCredentialsCsv } from '../agent-sim/credentials-source.ts';
import { runFleet } from '../agent-sim/fleet.ts';
import { startTestPlatform, type TestPlatform } from './support/platform-fixture.ts';

/**
 * Webhooks (issue 17 §2) end to end: a real platform, a rollout of 50 agent-sim devices, and a
 * receiver on 127.0.0.1 that answers 503 for the first half of the rollout. The receiver checks
 * each delivery as docs/OPERATIONS.md "Webhooks and event stream" tells a receiver to, written here
 * from that text rather than imported from the platform.
 */

const deviceCount = 50;

/** docs/OPERATIONS.md: the public event type of each audit event type (the rest are not delivered). */
const documentedPublicTypes: Record<string, string> = {
  'request.created': 'request.created',
  'provision.started': 'provisioning.started',
  'provision.completed': 'provisioning.completed',
  'provision.failed': 'provisioning.failed',
  'device.birth': 'device.online',
  'device.offline': 'device.offline',
  'certificate.issued': 'certificate.issued',
  'certificate.renewed': 'certificate.renewed',
  'certificate.revoked': 'certificate.revoked',
  'device.configuration.applied': 'configuration.applied',
  'device.configuration.refused': 'configuration.refused',
  'job.device.installed': 'job.device.installed',
  'job.device.failed': 'job.device.failed',
};

interface Delivery {
  readonly headers: IncomingHttpHeaders;
  readonly body: string;
}

type Verdict = 'accepted' | 'duplicate' | 'bad-signature' | 'stale';

/**
 * The documented receiver check: the signature header is t=<unix seconds>,v1=<hex HMAC-SHA256 of
 * "<t>.<raw body>" with the secret>; refuse when it does not match or when t is more than 5
 * minutes from now; an event id already taken is acknowledged (2xx) and not acted on again.
 */
function checkDelivery(secret: string, delivery: Delivery, seenEventIds: Set<string>, nowSeconds: number): Verdict {
  const header = String(delivery.headers['x-provisio-signature'] ?? '');
  const parts = new Map(header.split(',').map((part) => [part.slice(0, part.indexOf('=')), part.slice(part.indexOf('=') + 1)] as const));
  const t = Number(parts.get('t'));
  const v1 = parts.get('v1') ?? '';
  const expected = createHmac('sha256', secret)
    .update(`${parts.get('t')}.${delivery.body}`)
    .digest();
  const given = Buffer.from(v1, 'hex');
  if (!Number.isInteger(t) || given.length !== expected.length || !timingSafeEqual(given, expected)) return 'bad-signature';
  if (Math.abs(nowSeconds - t) > 300) return 'stale';
  const eventId = String(delivery.headers['x-provisio-event-id'] ?? '');
  if (seenEventIds.has(eventId)) return 'duplicate';
  seenEventIds.add(eventId);
  return 'accepted';
}

interface DeliveredEvent {
  readonly id: string;
  readonly type: string;
  readonly clientId: string | null;
  readonly accountId: string | null;
}

/** A webhook receiver: 503 while down; otherwise the documented check, every delivery kept. */
class Receiver {
  down = true;
  secret = '';
  readonly seen = new Set<string>();
  /** Accepted events in the order they were taken. */
  readonly accepted: DeliveredEvent[] = [];
  readonly verdicts: Verdict[] = [];
  readonly deliveries: Delivery[] = [];
  refusedWhileDown = 0;
  private server: Server | null = null;

  async start(): Promise<string> {
    this.server = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (chunk: Buffer) => chunks.push(chunk));
      req.on('end', () => {
        if (this.down) {
          this.refusedWhileDown += 1;
          res.writeHead(503).end();
          return;
        }
        const delivery = { headers: req.headers, body: Buffer.concat(chunks).toString('utf8') };
        this.deliveries.push(delivery);
        const verdict = checkDelivery(this.secret, delivery, this.seen, Math.floor(Date.now() / 1000));
        this.verdicts.push(verdict);
        if (verdict === 'accepted') this.accepted.push(JSON.parse(delivery.body) as DeliveredEvent);
        res.writeHead(verdict === 'accepted' || verdict === 'duplicate' ? 200 : 400).end();
      });
    });
    await new Promise<void>((resolve) => this.server!.listen(0, '127.0.0.1', resolve));
    return `http://127.0.0.1:${(this.server.address() as AddressInfo).port}/provisio-events`;
  }

  async close(): Promise<void> {
    this.server?.closeAllConnections();
    await new Promise((resolve) => this.server?.close(resolve));
  }
}

interface AuditItem {
  readonly id: string;
  readonly type: string;
  readonly clientId: string | null;
}

async function auditSince(fixture: TestPlatform, afterId: number): Promise<AuditItem[]> {
  const items: AuditItem[] = [];
  for (let offset = 0; ; offset += 1000) {
    const page = await fixture.api<{ items: AuditItem[]; total: number }>('GET', `/audit-events?offset=${offset}&limit=1000`);
    items.push(...page.body.items.filter((event) => Number(event.id) > afterId));
    if (offset + 1000 >= page.body.total) return items;
  }
}

async function waitFor(what: string, condition: () => boolean | Promise<boolean>, timeoutMs = 60_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

describe('webhooks: a receiver down for part of a rollout', () => {
  let fixture: TestPlatform;
  let workDir: string;
  const receiver = new Receiver();
  let webhookId = '';
  let startCursor = 0;

  before(async () => {
    fixture = await startTestPlatform({ logLevel: 'warn', webhookPollIntervalMs: 50, webhookRetryMinMs: 50, webhookRetryMaxMs: 400, webhookTimeoutMs: 2000 });
    workDir = await mkdtemp(join(tmpdir(), 'provisio-webhooks-'));
  });
  after(async () => {
    await fixture?.close();
    await receiver.close();
    await rm(workDir, { recursive: true, force: true });
  });

  it('refuses a URL with credentials or of another scheme, and shows the secret only at creation', async () => {
    const withCredentials = await fixture.api('POST', '/webhooks', { url: 'https://user:pw@example.com/hook', eventTypes: ['device.online'] });
    assert.equal(withCredentials.status, 400);
    const ftp = await fixture.api('POST', '/webhooks', { url: 'ftp://example.com/hook', eventTypes: ['device.online'] });
    assert.equal(ftp.status, 400);
    const unknownType = await fixture.api('POST', '/webhooks', { url: 'https://example.com/hook', eventTypes: ['connect.refused'] });
    assert.equal(unknownType.status, 400);

    const url = await receiver.start();
    const created = await fixture.api<{ id: string; secret: string; cursor: string; eventTypes: string[] }>('POST', '/webhooks', {
      url,
      eventTypes: Object.values(documentedPublicTypes),
    });
    assert.equal(created.status, 201);
    assert.match(created.body.secret, /^.{32,}$/);
    receiver.secret = created.body.secret;
    webhookId = created.body.id;
    startCursor = Number(created.body.cursor);
    const read = await fixture.api<Record<string, unknown>>('GET', `/webhooks/${webhookId}`);
    assert.equal(read.status, 200);
    assert.equal(read.body['secret'], undefined);
    assert.ok(!JSON.stringify((await fixture.api('GET', '/webhooks')).body).includes(receiver.secret));
  });

  it('delivers every event of the rollout at least once, in order, signed, after the receiver comes back', async () => {
    const account = await fixture.api<{ id: string }>('POST', '/accounts', { name: 'webhook-rollout' });
    const batch = await fetch(`${fixture.apiUrl}/provision-requests/batch`, {
      method: 'POST',
      headers: { authorization: `Bearer ${fixture.adminToken}`, 'content-type': 'application/json', accept: 'text/csv' },
      body: JSON.stringify({
        requests: Array.from({ length: deviceCount }, (_, index) => ({ accountId: account.body.id, clientId: `hook-${String(index).padStart(3, '0')}` })),
      }),
    });
    assert.equal(batch.status, 201);
    const credentials = parseCredentialsCsv(await batch.text());

    const summary = await runFleet({
      credentials,
      concurrency: 10,
      brokerUrl: `mqtts://localhost:${fixture.platform.provisionBroker.mqttsPort}`,
      trustedRootPem: fixture.rootPem,
      stateRoot: join(workDir, 'fleet'),
      settings: { timeout: 30_000, 'retry-interval': 500 },
      // The receiver comes back half-way through the rollout.
      onProgress: (provisioned) => {
        if (provisioned >= deviceCount / 2) receiver.down = false;
      },
    });
    assert.equal(summary.provisioned, deviceCount);
    receiver.down = false;
    assert.ok(receiver.refusedWhileDown > 0, 'the receiver was down for part of the rollout');

    // Every event of a delivered type that the audit log holds since the webhook was registered.
    let expected: AuditItem[] = [];
    await waitFor('every event delivered', async () => {
      expected = (await auditSince(fixture, startCursor)).filter((event) => event.type in documentedPublicTypes);
      const accepted = new Set(receiver.accepted.map((event) => event.id));
      return expected.length > 0 && expected.every((event) => accepted.has(event.id));
    });

    // Each device: created, provisioned, online, offline.
    for (const { clientId } of credentials) {
      const types = new Set(receiver.accepted.filter((event) => event.clientId === clientId).map((event) => event.type));
      for (const type of ['request.created', 'provisioning.completed', 'device.online', 'device.offline']) {
        assert.ok(types.has(type), `${clientId}: ${type} delivered`);
      }
    }
    // The public type is the documented one for the audit event.
    const auditTypeOf = new Map(expected.map((event) => [event.id, event.type]));
    for (const event of receiver.accepted) assert.equal(event.type, documentedPublicTypes[auditTypeOf.get(event.id) ?? ''], `event ${event.id}`);
    // In order: each event was first taken after the ones before it (so in order per device too).
    const firstArrival = receiver.accepted.map((event) => Number(event.id));
    assert.deepEqual(
      firstArrival,
      [...firstArrival].sort((a, b) => a - b),
    );
    // Every delivery carried a valid signature.
    assert.ok(!receiver.verdicts.includes('bad-signature') && !receiver.verdicts.includes('stale'), JSON.stringify(receiver.verdicts));

    // The deliveries list shows the failures (503) and the deliveries.
    const deliveries = await fixture.api<{ items: { status: number | null; delivered: boolean; error: string | null; attempt: number }[] }>(
      'GET',
      `/webhooks/${webhookId}/deliveries?limit=200`,
    );
    assert.equal(deliveries.status, 200);
    assert.ok(deliveries.body.items.some((attempt) => attempt.delivered && attempt.status === 200));
    const allAttempts = deliveries.body.items;
    const failed = allAttempts.filter((attempt) => !attempt.delivered);
    // The newest 200 may all be successes by now if the backlog was long; the count of 503s the receiver gave says the rest.
    if (failed.length > 0) assert.ok(failed.every((attempt) => attempt.status === 503 && attempt.error === 'HTTP 503'));
  });

  it('refuses a replayed delivery by the documented check: a seen event id, an old timestamp, a changed body', () => {
    const original = receiver.deliveries[0]!;
    const seen = new Set(receiver.seen);
    const now = Math.floor(Date.now() / 1000);
    assert.equal(checkDelivery(receiver.secret, original, seen, now), 'duplicate', 'the same event id again is not acted on');
    assert.equal(checkDelivery(receiver.secret, original, new Set(), now + 6 * 60), 'stale', 'replayed 6 minutes later');
    assert.equal(checkDelivery(receiver.secret, { ...original, body: original.body.replace('"type":"', '"type":"x') }, new Set(), now), 'bad-signature');
    assert.equal(checkDelivery('another-secret', original, new Set(), now), 'bad-signature');
  });

  it('shows failures in the deliveries list while the receiver is down, and redelivers from an event on', async () => {
    receiver.down = true;
    const before = receiver.refusedWhileDown;
    const first = receiver.accepted[0]!;
    const redelivery = await fixture.api<{ cursor: string }>('POST', `/webhooks/${webhookId}/redeliver`, { fromEventId: first.id });
    assert.equal(redelivery.status, 202);
    assert.equal(redelivery.body.cursor, String(Number(first.id) - 1));
    await waitFor('a failed attempt', () => receiver.refusedWhileDown > before + 1);
    const deliveries = await fixture.api<{ items: { eventId: string; status: number | null; delivered: boolean; error: string | null; attempt: number }[] }>(
      'GET',
      `/webhooks/${webhookId}/deliveries?limit=5`,
    );
    const newest = deliveries.body.items[0]!;
    assert.equal(newest.delivered, false);
    assert.equal(newest.status, 503);
    assert.equal(newest.eventId, first.id, 'the failing event is retried, nothing after it goes first');
    assert.ok(newest.attempt >= 2);

    const verdictsBefore = receiver.verdicts.length;
    receiver.down = false;
    await waitFor(
      'the redelivered events',
      () => receiver.verdicts.filter((verdict, index) => index >= verdictsBefore && verdict === 'duplicate').length >= 10,
    );
    // Redelivered events are the same events: the receiver's dedupe by id takes none of them twice.
    assert.equal(new Set(receiver.accepted.map((event) => event.id)).size, receiver.accepted.length);

    const disabled = await fixture.api<{ enabled: boolean }>('PATCH', `/webhooks/${webhookId}`, { enabled: false });
    assert.equal(disabled.body.enabled, false);
    assert.equal((await fixture.api('DELETE', `/webhooks/${webhookId}`)).status, 204);
    assert.equal((await fixture.api('GET', `/webhooks/${webhookId}`)).status, 404);
  });
});
