import assert from 'node:assert/strict';
import { request as httpRequest } from 'node:http';
import { Writable } from 'node:stream';
import { after, before, describe, it } from 'node:test';
import type { ProvisionStore } from '../store/types.ts';
import { startApiFixture, type ApiFixture, type ApiResponse } from './support/api-fixture.ts';

function assertProblem(answer: ApiResponse, status: number, code: string): void {
  assert.equal(answer.status, status, JSON.stringify(answer.body));
  assert.match(answer.headers.get('content-type') ?? '', /^application\/problem\+json/);
  assert.equal(answer.body.status, status);
  assert.equal(answer.body.code, code);
  assert.equal(answer.body.type, `https://provisio.dev/errors/${code}`);
  assert.equal(typeof answer.body.title, 'string');
}

/** Deterministic pseudo-random numbers (mulberry32), so a failing fuzz case can be replayed. */
function random(seed: number): () => number {
  let state = seed;
  return () => {
    state = (state + 0x6d2b79f5) | 0;
    let t = Math.imul(state ^ (state >>> 15), 1 | state);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function fuzzValue(next: () => number, depth = 0): unknown {
  const pick = Math.floor(next() * (depth > 2 ? 7 : 10));
  const strings = ['', ' ', 'a', '$SYS', 'a/b/#', "' OR 1=1 --", '\u0000', '💥'.repeat(50), 'x'.repeat(5000), '2030-01-01T00:00:00Z', 'ENABLED', '__proto__'];
  switch (pick) {
    case 0:
      return null;
    case 1:
      return next() < 0.5;
    case 2:
      return Math.floor(next() * 2000) - 1000;
    case 3:
      return [1e308, -1e308, 0.5, -0, 2 ** 53 + 1][Math.floor(next() * 5)];
    case 4:
    case 5:
    case 6:
      return strings[Math.floor(next() * strings.length)];
    case 7:
      return Array.from({ length: Math.floor(next() * 4) }, () => fuzzValue(next, depth + 1));
    default: {
      const keys = ['accountId', 'clientId', 'name', 'version', 'requests', 'password', 'status', 'bundleIds', 'content', 'reason', 'constructor', '__proto__'];
      const object: Record<string, unknown> = {};
      for (let i = Math.floor(next() * 5); i > 0; i -= 1) object[keys[Math.floor(next() * keys.length)]!] = fuzzValue(next, depth + 1);
      return object;
    }
  }
}

describe('Admin API: problem answers', () => {
  let fixture: ApiFixture;
  let accountId: string;

  before(async () => {
    fixture = await startApiFixture({ config: { httpBodyLimitBytes: 4096 } });
    accountId = (await fixture.api('POST', '/api/v1/accounts', { body: { name: 'acme' } })).body.id;
  });
  after(async () => {
    await fixture.close();
  });

  it('Should answer malformed JSON with 400 VALIDATION_FAILED, without echoing it', async () => {
    const answer = await fixture.api('POST', '/api/v1/accounts', { body: '{"name": "acme", "password": "hunter2"' });
    assertProblem(answer, 400, 'VALIDATION_FAILED');
    assert.ok(!JSON.stringify(answer.body).includes('hunter2'));
  });

  it('Should answer a body over httpBodyLimitBytes with 413 PAYLOAD_TOO_LARGE', async () => {
    const answer = await fixture.api('POST', '/api/v1/configurations', { body: { accountId, name: 'big', content: { blob: 'x'.repeat(5000) } } });
    assertProblem(answer, 413, 'PAYLOAD_TOO_LARGE');
  });

  it('Should refuse unknown fields and name them in errors', async () => {
    const answer = await fixture.api('POST', '/api/v1/accounts', { body: { name: 'fine', isAdmin: true } });
    assertProblem(answer, 400, 'VALIDATION_FAILED');
    assert.deepEqual(answer.body.errors, [{ path: 'body/isAdmin', message: 'is not a known field' }]);
    assert.match(answer.body.detail, /body\/isAdmin/);
    const query = await fixture.api('GET', '/api/v1/accounts?sort=name');
    assertProblem(query, 400, 'VALIDATION_FAILED');
    assert.equal(query.body.errors[0].path, 'query/sort');
  });

  it('Should refuse a body that is not sent as JSON', async () => {
    const answer = await fixture.api('POST', '/api/v1/accounts', { body: 'name=acme', headers: { 'content-type': 'application/x-www-form-urlencoded' } });
    assertProblem(answer, 400, 'VALIDATION_FAILED');
    assertProblem(await fixture.api('POST', '/api/v1/accounts'), 400, 'VALIDATION_FAILED');
    assertProblem(await fixture.api('POST', '/api/v1/accounts', { body: '[1,2]' }), 400, 'VALIDATION_FAILED');
    assertProblem(await fixture.api('POST', '/api/v1/accounts', { body: '"text"' }), 400, 'VALIDATION_FAILED');
  });

  it('Should answer unknown routes and methods with a 404 problem', async () => {
    assertProblem(await fixture.api('GET', '/api/v1/nothing-here'), 404, 'NOT_FOUND');
    assertProblem(await fixture.api('PUT', '/api/v1/accounts'), 404, 'NOT_FOUND');
    // '/' is the web console now; a path beside it is still a problem.
    assertProblem(await fixture.api('GET', '/nothing-here'), 404, 'NOT_FOUND');
    assertProblem(await fixture.api('GET', '/console/nothing-here.js'), 404, 'NOT_FOUND');
  });

  it('Should treat injection-looking filters and ids as plain data: 200 or 400, never 500', async () => {
    const hostile = ["' OR 1=1 --", '"; DROP TABLE provision_requests; --', '%00', '*', '../../etc/passwd', '${jndi:ldap://x}', '<script>'];
    for (const value of hostile) {
      const encoded = encodeURIComponent(value);
      for (const path of [
        `/api/v1/provision-requests?clientId=${encoded}`,
        `/api/v1/provision-requests?accountId=${encoded}`,
        `/api/v1/provision-requests?status=${encoded}`,
        `/api/v1/provision-requests?startDate=${encoded}`,
        `/api/v1/audit-events?type=${encoded}&clientId=${encoded}`,
        `/api/v1/certificates?clientId=${encoded}`,
        `/api/v1/configurations?accountId=${encoded}`,
        `/api/v1/provision-requests/${encoded}`,
        `/api/v1/certificates/${encoded}`,
        `/api/v1/bundles/${encoded}/download?token=${encoded}`,
      ]) {
        const answer = await fixture.api('GET', path);
        assert.ok([200, 400, 403, 404].includes(answer.status), `${path}: ${answer.status}`);
      }
    }
    const found = await fixture.api('GET', `/api/v1/provision-requests?clientId=${encodeURIComponent("' OR 1=1 --")}`);
    assert.equal(found.status, 200);
    assert.equal(found.body.total, 0);
    assert.equal((await fixture.api('GET', '/api/v1/accounts')).status, 200, 'the store still works');
  });

  it('Should answer a malformed percent-encoding in the path with 400, not 500', async () => {
    const status = await new Promise<number>((resolve, reject) => {
      const request = httpRequest(`${fixture.baseUrl}/api/v1/accounts/%E0%A4%A`, { headers: { authorization: `Bearer ${fixture.adminToken}` } }, (response) => {
        response.resume();
        resolve(response.statusCode ?? 0);
      });
      request.on('error', reject);
      request.end();
    });
    assert.equal(status, 400);
  });

  it('Should never answer 500 to fuzzed bodies and query strings', async () => {
    const next = random(20240611);
    const targets: [string, string][] = [
      ['POST', '/api/v1/accounts'],
      ['POST', '/api/v1/provision-requests'],
      ['POST', '/api/v1/provision-requests/batch'],
      ['PATCH', '/api/v1/provision-requests/some-id'],
      ['PATCH', `/api/v1/accounts/${accountId}`],
      ['POST', '/api/v1/configurations'],
      ['POST', '/api/v1/api-tokens'],
      ['POST', '/api/v1/certificates/abc123/revoke'],
    ];
    const valid = { accountId, clientId: 'fuzz', name: 'fuzz', content: {}, reason: 'x', version: 1 };
    for (let i = 0; i < 300; i += 1) {
      const [method, path] = targets[i % targets.length]!;
      // Half the cases start from a valid-looking body and break one field.
      const body = next() < 0.5 ? fuzzValue(next) : { ...valid, [Object.keys(valid)[Math.floor(next() * 6)]!]: fuzzValue(next) };
      const answer = await fixture.api(method, path, { body: JSON.stringify(body) ?? 'null' });
      assert.ok(answer.status < 500, `${method} ${path} ${JSON.stringify(body).slice(0, 200)} → ${answer.status} ${JSON.stringify(answer.body)}`);
      if (answer.status >= 400) assert.match(answer.headers.get('content-type') ?? '', /^application\/problem\+json/);
    }
    for (let i = 0; i < 100; i += 1) {
      const parameters = ['clientId', 'status', 'limit', 'offset', 'startDate', 'accountId', 'jobStatus', 'x'];
      const query = Array.from({ length: 3 }, () => {
        const value = fuzzValue(next);
        return `${parameters[Math.floor(next() * parameters.length)]}=${encodeURIComponent(typeof value === 'string' ? value : (JSON.stringify(value) ?? ''))}`;
      }).join('&');
      const answer = await fixture.api('GET', `/api/v1/provision-requests?${query}`);
      assert.ok(answer.status === 200 || answer.status === 400, `${query} → ${answer.status}`);
    }
  });
});

describe('Admin API: failures inside the server', () => {
  it('Should answer 429 OVERLOADED with Retry-After when too many batches run at once', async () => {
    // Batches wait at a gate inside the store, so that the first two are surely still running.
    let openGate: () => void = () => undefined;
    const gate = new Promise<void>((resolve) => (openGate = resolve));
    // Count batches at the gate by the batch number in their clientIds, so that the test waits
    // until both running batches, not just one, have reached the store.
    const batchesAtGate = new Set<string>();
    const fixture = await startApiFixture({
      wrapStore: (store) =>
        new Proxy(store, {
          get(target, property, receiver) {
            const value = Reflect.get(target, property, receiver) as unknown;
            if (property !== 'createProvisionRequests' || typeof value !== 'function') return typeof value === 'function' ? value.bind(target) : value;
            return async (...args: unknown[]) => {
              for (const { clientId } of args[0] as { clientId: string }[]) batchesAtGate.add(clientId.split('-')[1] ?? '');
              await gate;
              return (value as (...a: unknown[]) => unknown).apply(target, args);
            };
          },
        }),
    });
    try {
      const accountId = (await fixture.api('POST', '/api/v1/accounts', { body: { name: 'busy' } })).body.id;
      const batch = (k: number) =>
        fixture.api('POST', '/api/v1/provision-requests/batch', {
          body: { requests: Array.from({ length: 5 }, (_, i) => ({ accountId, clientId: `load-${k}-${i}` })) },
        });
      const running = [batch(1), batch(2)];
      while (batchesAtGate.size < 2) await new Promise((resolve) => setTimeout(resolve, 10));
      const third = await batch(3);
      assertProblem(third, 429, 'OVERLOADED');
      assert.equal(third.headers.get('retry-after'), '1');
      openGate();
      const answers = await Promise.all(running);
      assert.deepEqual(
        answers.map((answer) => answer.status),
        [201, 201],
      );
    } finally {
      openGate();
      await fixture.close();
    }
  });
  it('Should report every item of a batch as failed, and create none, when the store fails while writing it', async () => {
    const fixture = await startApiFixture({
      wrapStore: (store) =>
        new Proxy(store, {
          get(target, property, receiver) {
            // The store goes away between the checks of the items and the write of the batch.
            if (property === 'createProvisionRequests') return () => target.close().then(() => target.createProvisionRequests([]));
            const value = Reflect.get(target, property, receiver) as unknown;
            return typeof value === 'function' ? value.bind(target) : value;
          },
        }),
    });
    try {
      const accountId = (await fixture.api('POST', '/api/v1/accounts', { body: { name: 'gone' } })).body.id;
      const answer = await fixture.api('POST', '/api/v1/provision-requests/batch', {
        body: {
          requests: [
            { accountId, clientId: 'lost-1' },
            { accountId, clientId: 'lost-2' },
          ],
        },
      });
      assert.equal(answer.status, 200);
      assert.deepEqual(answer.body.created, []);
      assert.deepEqual(
        answer.body.failed.map((item: { index: number; clientId: string; problem: { status: number; code: string } }) => [
          item.index,
          item.clientId,
          item.problem.status,
          item.problem.code,
        ]),
        [
          [0, 'lost-1', 503, 'STORE_UNAVAILABLE'],
          [1, 'lost-2', 503, 'STORE_UNAVAILABLE'],
        ],
      );
    } finally {
      await fixture.close();
    }
  });

  it('Should answer an unexpected error as a plain 500 INTERNAL and log it once', async () => {
    const lines: string[] = [];
    const logDestination = new Writable({
      write(chunk: Buffer, _encoding, callback) {
        lines.push(chunk.toString('utf8'));
        callback();
      },
    });
    const failing = (store: ProvisionStore): ProvisionStore =>
      new Proxy(store, {
        get(target, property, receiver) {
          if (property === 'getAccount') return () => Promise.reject(new Error('boom: internal details'));
          const value = Reflect.get(target, property, receiver) as unknown;
          return typeof value === 'function' ? value.bind(target) : value;
        },
      });
    const fixture = await startApiFixture({ wrapStore: failing, logDestination, logLevel: 'info' });
    try {
      const answer = await fixture.api('GET', '/api/v1/accounts/any');
      assertProblem(answer, 500, 'INTERNAL');
      assert.equal(answer.body.detail, undefined);
      assert.ok(!JSON.stringify(answer.body).includes('boom'));
      assert.equal(lines.filter((line) => line.includes('boom: internal details')).length, 1);
    } finally {
      await fixture.close();
    }
  });

  it('Should answer /readyz 503 when the store does not answer, while /healthz stays 200', async () => {
    const fixture = await startApiFixture();
    try {
      assert.equal((await fixture.api('GET', '/readyz', { token: null })).status, 200);
      await fixture.store.close();
      assertProblem(await fixture.api('GET', '/readyz', { token: null }), 503, 'STORE_UNAVAILABLE');
      assert.equal((await fixture.api('GET', '/healthz', { token: null })).status, 200);
    } finally {
      await fixture.close();
    }
  });

  it('Should end idle keep-alive connections on close', async () => {
    const fixture = await startApiFixture();
    await fixture.api('GET', '/healthz', { token: null });
    const started = performance.now();
    await fixture.close();
    assert.ok(performance.now() - started < 1000, 'close() does not wait for the keep-alive timeout');
  });
});
