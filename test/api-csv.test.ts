import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { parse } from 'csv-parse/sync';
import { verifySecret } from '../crypto/secret-hash.ts';
import type { ProvisionStore } from '../store/types.ts';
import { startApiFixture, type ApiFixture, type ApiResponse } from './support/api-fixture.ts';

/**
 * CSV both ways in the admin API (issue 16 §3), over real HTTP and the real SQLite store: a batch of
 * provision requests imported from a CSV file (all or nothing, findings named by row and column),
 * and every list answered as a CSV file that parses back to the JSON list, spreadsheet-safe.
 */

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- JSON answers, read field by field
type Json = any;

const batchPath = '/api/v1/provision-requests/batch';

/** What a CSV export holds for a JSON value: null empty, lists joined by ';', objects as JSON, formula starts behind a '. */
function expectedCell(value: unknown): string {
  let text: string;
  if (value === null || value === undefined) return '';
  if (typeof value === 'string') text = value;
  else if (Array.isArray(value) && value.every((item) => typeof item === 'string')) text = value.join(';');
  else if (typeof value === 'object') text = JSON.stringify(value);
  else text = String(value);
  return /^[=+\-@\t\r]/.test(text) ? `'${text}` : text;
}

function valueAt(item: Json, column: string): unknown {
  return column.split('.').reduce((value: Json, key) => (value === null || value === undefined ? undefined : value[key]), item);
}

describe('Admin API: CSV import and export', () => {
  let fixture: ApiFixture;
  let acme: string;
  let globex: string;
  let acmeToken: string;

  const postCsv = (csv: string, options: { query?: string; accept?: string; token?: string; contentType?: string } = {}) =>
    fixture.api('POST', `${batchPath}${options.query ? `?${options.query}` : ''}`, {
      body: csv,
      headers: { 'content-type': options.contentType ?? 'text/csv', ...(options.accept ? { accept: options.accept } : {}) },
      ...(options.token ? { token: options.token } : {}),
    });

  const storedClientIds = async (clientIds: readonly string[]) =>
    (await fixture.store.listProvisionRequests({ clientIds: [...clientIds], limit: 1000 })).items.map((request) => request.clientId);

  /** Every item of a JSON list, read a page of 1,000 at a time. */
  async function jsonList(path: string, token?: string): Promise<Json[]> {
    const items: Json[] = [];
    for (let offset = 0; ; offset += 1000) {
      const separator = path.includes('?') ? '&' : '?';
      const page = await fixture.api('GET', `${path}${separator}offset=${offset}&limit=1000`, token ? { token } : {});
      assert.equal(page.status, 200, `${path}: ${JSON.stringify(page.body)}`);
      items.push(...page.body.items);
      if (items.length >= page.body.total) return items;
    }
  }

  const csvList = (path: string, token?: string): Promise<ApiResponse> =>
    fixture.api('GET', path, { headers: { accept: 'text/csv' }, ...(token ? { token } : {}) });

  before(async () => {
    fixture = await startApiFixture();
    acme = (await fixture.api('POST', '/api/v1/accounts', { body: { name: 'acme' } })).body.id;
    globex = (await fixture.api('POST', '/api/v1/accounts', { body: { name: '-globex' } })).body.id;
    acmeToken = (await fixture.api('POST', '/api/v1/api-tokens', { body: { accountId: acme } })).body.token;
  });
  after(async () => {
    await fixture.close();
  });

  describe('importing a batch', () => {
    it('Should read a BOM, a ; delimiter and quoted fields holding ;, commas, quotes and line breaks', async () => {
      const csv =
        '\uFEFFclientId;username;password;tags;generateActivationKey;retryMaxAttempts\r\n' +
        'semi-1;"user;one";"pa;ss,wo""rd\nsecond line";"red;blue";true;3\r\n' +
        'semi-2;;;;;\r\n';
      const { status, headers, body } = await postCsv(csv, { query: `accountId=${acme}`, accept: 'text/csv' });
      assert.equal(status, 201, body);
      assert.match(headers.get('content-type')!, /^text\/csv/);
      assert.equal(headers.get('x-failed-count'), '0');
      const rows: Record<string, string>[] = parse(body, { columns: true });
      assert.deepEqual(
        rows.map((row) => [row['clientId'], row['username']]),
        [
          ['semi-1', 'user;one'],
          ['semi-2', 'semi-2'],
        ],
      );
      assert.equal(rows[0]!['password'], 'pa;ss,wo"rd\nsecond line', 'the credentials file quotes it back intact');
      const [first] = (await fixture.store.listProvisionRequests({ clientIds: ['semi-1'] })).items;
      assert.ok(first);
      assert.equal(await verifySecret('pa;ss,wo"rd\nsecond line', first.passwordHash), true);
      assert.equal(await verifySecret(rows[0]!['activationKey']!, first.activationKeyHash!), true);
      assert.deepEqual(first.tags, ['blue', 'red']);
      assert.equal(first.retryMaxAttempts, 3);
      assert.equal(first.accountId, acme);
      const [second] = (await fixture.store.listProvisionRequests({ clientIds: ['semi-2'] })).items;
      assert.equal(second?.activationKeyHash, null, 'empty fields take the defaults');
      assert.equal(second?.retryMaxAttempts, 5);
    });

    it('Should read commas with an accountId column, a charset parameter and header names in any case, and answer JSON as the JSON batch does', async () => {
      const configuration = (await fixture.api('POST', '/api/v1/configurations', { body: { accountId: acme, name: 'base', content: { a: 1 } } })).body;
      const csv =
        'AccountId,clientId,username,status,configurationId,activatesOn,expiresOn,overwriteIfDuplicate\n' +
        `${acme},comma-1,"Smith, John",DISABLED,${configuration.id},2030-01-01T00:00:00Z,2030-02-01T00:00:00Z,false\n` +
        `${acme},comma-2,,,,,,\n`;
      const { status, body } = await postCsv(csv, { contentType: 'text/csv; charset=utf-8' });
      assert.equal(status, 201, JSON.stringify(body));
      assert.deepEqual(body.failed, []);
      assert.deepEqual(
        body.created.map((created: Json) => [created.clientId, created.username, created.status, created.configurationId]),
        [
          ['comma-1', 'Smith, John', 'DISABLED', configuration.id],
          ['comma-2', 'comma-2', 'ENABLED', null],
        ],
      );
      assert.equal(body.created[0].activatesOn, '2030-01-01T00:00:00.000Z');
      assert.equal(typeof body.created[1].credentials.password, 'string');
    });

    it('Should refuse a file whose row 7 is bad, naming row 7 and the column, and create none of its rows', async () => {
      const clientIds = Array.from({ length: 10 }, (_, index) => `bad-row-${index + 1}`);
      const lines = clientIds.map((clientId, index) => `${clientId},${index === 6 ? 'many' : '2'}`);
      const { status, body } = await postCsv(`clientId,retryMaxAttempts\n${lines.join('\n')}\n`, { query: `accountId=${acme}` });
      assert.equal(status, 400);
      assert.equal(body.code, 'VALIDATION_FAILED');
      assert.deepEqual(body.errors, [{ path: 'body/rows/7/retryMaxAttempts', message: 'must be integer' }]);
      assert.match(body.detail, /^row 7, column retryMaxAttempts: must be integer$/);
      assert.deepEqual(await storedClientIds(clientIds), []);
    });

    it('Should check the records a row names and its clientId before creating anything', async () => {
      const foreign = (await fixture.api('POST', '/api/v1/configurations', { body: { accountId: globex, name: 'theirs', content: {} } })).body.id;
      await fixture.api('POST', '/api/v1/provision-requests', { body: { accountId: globex, clientId: 'held-by-globex' } });
      await fixture.api('POST', '/api/v1/provision-requests', { body: { accountId: acme, clientId: 'acme-already' } });
      const clientIds = ['ref-1', 'ref-2', 'ref-3', 'ref-4', 'ref-5', 'ref-6'];
      const csv =
        'clientId,configurationId,category,expiresOn\n' +
        `${clientIds.slice(0, 3).join(',,,\n')},,,\n` +
        `ref-4,${foreign},,\n` +
        'held-by-globex,,,\n' +
        'acme-already,,,\n' +
        'ref-5,,,2000-01-01T00:00:00Z\n' +
        'ref-6,,,\n';
      const { status, body } = await postCsv(csv, { query: `accountId=${acme}`, token: acmeToken });
      assert.equal(status, 400, JSON.stringify(body));
      assert.deepEqual(body.errors, [
        { path: 'body/rows/4/configurationId', message: 'names no configuration of this account' },
        { path: 'body/rows/5/clientId', message: 'the clientId is already in use' },
        { path: 'body/rows/6/clientId', message: 'the clientId is already in use' },
        { path: 'body/rows/7/expiresOn', message: 'must be after activatesOn' },
      ]);
      assert.match(body.detail, /row 4, column configurationId: names no configuration of this account/);
      assert.deepEqual(await storedClientIds(clientIds), []);

      const category = await postCsv('clientId,category\nref-1,\nref-2,no-such-category\n', { query: `accountId=${acme}` });
      assert.deepEqual(category.body.errors, [{ path: 'body/rows/2/category', message: 'names no category of this account' }]);
      const twice = await postCsv('clientId\nref-1\nref-1\n', { query: `accountId=${acme}` });
      assert.deepEqual(twice.body.errors, [{ path: 'body/rows/2/clientId', message: 'appears more than once in the batch' }]);
      assert.deepEqual(await storedClientIds(clientIds), []);
    });

    it('Should refuse more than 1,000 rows, and create 1,000', async () => {
      const rows = (count: number, prefix: string) => Array.from({ length: count }, (_, index) => `${prefix}-${index}`).join('\n');
      const tooMany = await postCsv(`clientId\n${rows(1001, 'many')}\n`, { query: `accountId=${acme}` });
      assert.equal(tooMany.status, 400);
      assert.deepEqual(tooMany.body.errors, [{ path: 'body/rows', message: 'holds 1001 rows; a batch holds at most 1000' }]);
      assert.deepEqual(await storedClientIds(['many-0', 'many-1000']), []);
      const thousand = await postCsv(`clientId\n${rows(1000, 'thousand')}\n`, { query: `accountId=${acme}` });
      assert.equal(thousand.status, 201);
      assert.equal(thousand.body.created.length, 1000);
    });

    it('Should refuse files it cannot read, saying where', async () => {
      const refused = async (csv: string, query: string, expected: { path: string; message: RegExp }) => {
        const { status, body } = await postCsv(csv, { query });
        assert.equal(status, 400, csv);
        assert.equal(body.errors.length, 1, JSON.stringify(body.errors));
        assert.equal(body.errors[0].path, expected.path);
        assert.match(body.errors[0].message, expected.message);
      };
      const account = `accountId=${acme}`;
      await refused('clientId,tags\nok-1,a\nragged-2,a,b\n', account, { path: 'body/rows/2', message: /has 3 fields where the header has 2/ });
      await refused('clientId,tags\nok-1,a\n"open-2,a\n', account, { path: 'body/rows/2', message: /never closed/ });
      await refused('clientId,colour\nok-1,red\n', account, { path: 'body/header/colour', message: /is not a column/ });
      await refused('username\nu\n', account, { path: 'body/header/clientId', message: /is required/ });
      await refused('clientId\nno-account\n', '', { path: 'query/accountId', message: /is required when the CSV has no accountId column/ });
      await refused(`accountId,clientId\n${acme},both\n`, account, { path: 'query/accountId', message: /must not be given/ });
      await refused('clientId\n', account, { path: 'body/rows', message: /no row/ });
      const forcedComma = await postCsv('clientId;tags\nsemi;x\n', { query: `${account}&delimiter=,` });
      assert.deepEqual(
        forcedComma.body.errors.map((error: Json) => error.path),
        ['body/header/clientId;tags', 'body/header/clientId'],
        'the delimiter parameter wins over detection',
      );
      const latin1 = await postCsv('clientId\nx\n', { query: account, contentType: 'text/csv; charset=iso-8859-1' });
      assert.equal(latin1.status, 400);
      assert.equal(latin1.body.errors[0].path, 'header/content-type');
      const jsonWithQuery = await fixture.api('POST', `${batchPath}?${account}`, { body: { requests: [{ accountId: acme, clientId: 'json-q' }] } });
      assert.equal(jsonWithQuery.status, 400);
      assert.equal(jsonWithQuery.body.errors[0].path, 'query/accountId');
      const xml = await postCsv('<requests/>', { query: account, contentType: 'application/xml' });
      assert.equal(xml.status, 400);
      assert.deepEqual(xml.body.errors, [{ path: 'header/content-type', message: 'must be application/json or text/csv' }]);
      assert.deepEqual(await storedClientIds(['ok-1', 'ragged-2', 'both', 'semi', 'json-q']), []);
    });

    it("Should take another account's rows from its token as a 403, and import a formula-looking value as it is", async () => {
      const foreign = await postCsv(`accountId,clientId\n${globex},stolen\n`, { token: acmeToken });
      assert.equal(foreign.status, 403);
      const formula = await postCsv('clientId,tags\n=1-1,@SUM(A1)\n', { query: `accountId=${acme}`, token: acmeToken });
      assert.equal(formula.status, 201, JSON.stringify(formula.body));
      assert.equal(formula.body.created[0].clientId, '=1-1');
      assert.deepEqual(formula.body.created[0].tags, ['@SUM(A1)']);
    });
  });

  describe('exporting lists', () => {
    before(async () => {
      // One of each record, with values a spreadsheet would run as formulas.
      const createdOk = async (path: string, body: unknown) => {
        const answer = await fixture.api('POST', path, { body });
        assert.equal(answer.status, 201, `${path}: ${JSON.stringify(answer.body)}`);
      };
      await createdOk('/api/v1/categories', { accountId: acme, name: 'sensors', description: '=HYPERLINK("http://evil")' });
      await createdOk('/api/v1/configurations', { accountId: acme, name: '+conf', content: { secretish: 'not in the CSV' } });
      const upload = await fetch(`${fixture.baseUrl}/api/v1/bundles?accountId=${acme}&name=agent&version=1.0`, {
        method: 'POST',
        headers: { authorization: `Bearer ${fixture.adminToken}`, 'content-type': 'application/octet-stream' },
        body: randomBytes(64),
      });
      const bundleId = ((await upload.json()) as { id: string }).id;
      await createdOk('/api/v1/update-jobs', { accountId: acme, name: '-job', bundleIds: [bundleId], tags: ['a', 'b'] });
      const now = Date.now();
      await fixture.store.recordCertificate({
        serial: 'abc123',
        accountId: acme,
        clientId: 'semi-1',
        provisionRequestId: null,
        pem: '-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n',
        notBefore: now,
        notAfter: now + 86_400_000,
      });
      await createdOk('/api/v1/provision-requests', { accountId: acme, clientId: 'formula-tags', tags: ['=cmd|calc', '+1', '-2', '@x'], category: 'sensors' });
    });

    const lists = [
      { path: () => '/api/v1/accounts', filename: 'accounts.csv', omitted: [] },
      { path: () => `/api/v1/provision-requests?accountId=${acme}`, filename: 'provision-requests.csv', omitted: [] },
      { path: () => `/api/v1/configurations?accountId=${acme}`, filename: 'configurations.csv', omitted: ['content'] },
      { path: () => `/api/v1/bundles?accountId=${acme}`, filename: 'bundles.csv', omitted: [] },
      { path: () => `/api/v1/categories?accountId=${acme}`, filename: 'categories.csv', omitted: [] },
      { path: () => `/api/v1/certificates?accountId=${acme}`, filename: 'certificates.csv', omitted: ['pem'] },
      { path: () => '/api/v1/audit-events', filename: 'audit-events.csv', omitted: [] },
      { path: () => `/api/v1/update-jobs?accountId=${acme}`, filename: 'update-jobs.csv', omitted: [] },
    ];

    for (const list of lists) {
      it(`Should answer ${list.filename} that parses back to every item of the JSON list`, async () => {
        const answer = await csvList(list.path());
        assert.equal(answer.status, 200, answer.body);
        assert.match(answer.headers.get('content-type')!, /^text\/csv; charset=utf-8/);
        assert.equal(answer.headers.get('content-disposition'), `attachment; filename="${list.filename}"`);
        const [header, ...rows]: string[][] = parse(answer.body);
        assert.ok(header);
        const items = await jsonList(list.path());
        assert.ok(items.length > 0, 'the list is not empty');
        // The device facts of a provision request are columns of their own; other objects (an event's detail) are JSON text.
        const fields = Object.keys(items[0])
          .filter((key) => !list.omitted.includes(key))
          .flatMap((key) => (key === 'device' ? Object.keys(items[0][key]).map((nested) => `${key}.${nested}`) : [key]));
        assert.deepEqual(header, fields, 'the columns of the JSON view, but the omitted');
        assert.deepEqual(
          rows,
          items.map((item) => header.map((column) => expectedCell(valueAt(item, column)))),
        );
      });
    }

    it('Should leave out of the CSV what the list leaves out: secrets, hashes, content and PEM', async () => {
      const requests = (await csvList(`/api/v1/provision-requests?accountId=${acme}`)).body as string;
      assert.doesNotMatch(requests, /passwordHash|activationKeyHash|scrypt|pa;ss/);
      assert.doesNotMatch((await csvList(`/api/v1/configurations?accountId=${acme}`)).body, /not in the CSV/);
      assert.doesNotMatch((await csvList(`/api/v1/certificates?accountId=${acme}`)).body, /BEGIN CERTIFICATE/);
    });

    it('Should neutralise formula-looking cells with a leading quote', async () => {
      const [, ...rows]: string[][] = parse((await csvList(`/api/v1/provision-requests?accountId=${acme}&clientId=formula-tags,=1-1`)).body);
      const byClientId = new Map(rows.map((row) => [row[2], row]));
      assert.ok(byClientId.has("'=1-1"), 'the imported clientId is exported behind a quote');
      const tags = byClientId.get('formula-tags')!.find((cell) => cell.includes('calc'));
      assert.equal(tags, "'+1;-2;=cmd|calc;@x", 'the joined list starts with + and is quoted');
      const [, category] = parse((await csvList(`/api/v1/categories?accountId=${acme}`)).body) as string[][];
      assert.equal(category![3], '\'=HYPERLINK("http://evil")');
      const accounts: Record<string, string>[] = parse((await csvList('/api/v1/accounts')).body, { columns: true });
      assert.deepEqual(
        accounts.map((row) => row['name']),
        ['acme', "'-globex"],
      );
      const [, job] = parse((await csvList(`/api/v1/update-jobs?accountId=${acme}`)).body) as string[][];
      assert.equal(job![2], "'-job");
      await fixture.store.upsertDevice(acme, 'device-formula', { model: '=1+1', serial: '\t@serial', firmware: '-1.0' });
      const devices: Record<string, string>[] = parse((await csvList(`/api/v1/devices?accountId=${acme}&clientId=device-formula`)).body, { columns: true });
      const device = devices.find((row) => row['clientId'] === 'device-formula');
      assert.deepEqual([device?.['model'], device?.['serial'], device?.['firmware']], ["'=1+1", "'\t@serial", "'-1.0"]);
    });

    it('Should apply the filters and the scope of the token, and read every page', async () => {
      const own: string[][] = parse((await csvList('/api/v1/provision-requests', acmeToken)).body);
      assert.ok(own.length > 1000, 'more rows than one store page');
      assert.ok(own.slice(1).every((row) => row[1] === acme));
      assert.equal(own.length - 1, (await jsonList('/api/v1/provision-requests', acmeToken)).length);
      const disabled: string[][] = parse((await csvList(`/api/v1/provision-requests?accountId=${acme}&status=DISABLED`)).body);
      assert.deepEqual(
        disabled.slice(1).map((row) => row[2]),
        ['comma-1'],
      );
      assert.equal((await csvList('/api/v1/accounts', acmeToken)).status, 403);
      assert.equal((await csvList(`/api/v1/audit-events?accountId=${globex}`, acmeToken)).status, 403);
      assert.equal((await csvList('/api/v1/configurations')).status, 400, 'the admin names the account, as for JSON');
    });

    it('Should document the CSV answer of every list and the CSV body of the batch in the OpenAPI document', async () => {
      const document = (await fixture.api('GET', '/api/v1/openapi.json')).body;
      for (const path of [
        'accounts',
        'provision-requests',
        'configurations',
        'bundles',
        'categories',
        'certificates',
        'audit-events',
        'update-jobs',
        'devices',
      ]) {
        const ok = document.paths[`/api/v1/${path}`].get.responses['200'];
        assert.deepEqual(Object.keys(ok.content).sort(), ['application/json', 'text/csv'], path);
        assert.ok(ok.headers['Content-Disposition'], path);
      }
      const batch = document.paths[batchPath].post;
      assert.deepEqual(Object.keys(batch.requestBody.content).sort(), ['application/json', 'text/csv']);
      assert.match(batch.requestBody.content['text/csv'].schema.description, /clientId, username/);
      assert.deepEqual(
        batch.parameters.map((parameter: Json) => parameter.name),
        ['accountId', 'delimiter'],
      );
    });
  });

  describe('the export bound', () => {
    let large: ApiFixture;
    before(async () => {
      // The store says the selection is one record larger than an export may hold; the records are the real ones.
      large = await startApiFixture({
        wrapStore: (store: ProvisionStore): ProvisionStore =>
          Object.assign(Object.create(store) as ProvisionStore, {
            listAudit: async (...args: Parameters<ProvisionStore['listAudit']>) => ({ ...(await store.listAudit(...args)), total: 100_001 }),
          }),
      });
    });
    after(async () => {
      await large.close();
    });

    it('Should refuse a selection beyond 100,000 rows with a 400 rather than cut it', async () => {
      const answer = await large.api('GET', '/api/v1/audit-events', { headers: { accept: 'text/csv' } });
      assert.equal(answer.status, 400);
      assert.match(answer.body.errors[0].message, /selects 100001 audit events; a CSV export holds at most 100000/);
    });
  });
});
