import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { isAcceptableClientId } from '../protocol/topics.ts';
import { clientIdCases } from './support/client-id-cases.ts';
import { startTestPlatform, type TestPlatform } from './support/platform-fixture.ts';
import { connectOutcome, provisionDevice, type ProvisionedDevice } from './support/security-kit.ts';

function shown(clientId: string): string {
  const escaped = JSON.stringify(clientId).replace(/[^\x20-\x7e]/gu, (character) => `\\u{${character.codePointAt(0)!.toString(16)}}`);
  return escaped.length > 40 ? `${escaped.slice(0, 30)}…(${clientId.length} UTF-16 units)` : escaped;
}

/**
 * One rule for a clientId (issue 12 §4): the admin API accepts exactly what the brokers accept.
 * Every case of test/support/client-id-cases.ts, on a whole platform: a refused one gets 400 from
 * the API (single and batch) and CONNACK 2 from both provision listeners and from the account
 * broker (with a valid certificate); an accepted one is created by the API and its device gets
 * CONNACK 0 with the credentials the API gave.
 */
describe('one rule for a clientId: the admin API and the brokers agree', () => {
  let fixture: TestPlatform;
  let accountId: string;
  let device: ProvisionedDevice;
  const tlsUrl = (): string => `mqtts://localhost:${fixture.platform.provisionBroker.mqttsPort}`;
  const tcpUrl = (): string => `mqtt://127.0.0.1:${fixture.platform.provisionBroker.mqttPort}`;
  const accountUrl = (): string => `mqtts://localhost:${fixture.platform.accountBroker.mqttsPort}`;

  before(async () => {
    fixture = await startTestPlatform();
    device = await provisionDevice(fixture, 'rule-holder', { account: 'rules' });
    accountId = device.request.accountId;
  });
  after(() => fixture.close());

  it('Should hold the table to the function both sides call', () => {
    for (const { clientId, acceptable, label } of clientIdCases) assert.equal(isAcceptableClientId(clientId), acceptable, label);
  });

  for (const { label, clientId } of clientIdCases.filter((item) => !item.acceptable)) {
    it(`Should refuse ${label} ${shown(clientId)}: 400 from the API, CONNACK 2 from every listener`, async () => {
      const created = await fixture.api<{ code: string; errors: { path: string; message: string }[] }>('POST', '/provision-requests', { accountId, clientId });
      assert.equal(created.status, 400, JSON.stringify(created.body));
      assert.equal(created.body.code, 'VALIDATION_FAILED');
      assert.ok(
        created.body.errors.some((error) => error.path === 'body/clientId'),
        JSON.stringify(created.body.errors),
      );
      const options = { clientId, username: 'someone', password: 'something', clean: true, ca: fixture.rootPem };
      assert.equal(await connectOutcome(tlsUrl(), options), 'connack 2', 'provision broker, TLS');
      const { ca: _ca, ...plain } = options;
      assert.equal(await connectOutcome(tcpUrl(), plain), 'connack 2', 'provision broker, TCP');
      const withCertificate = { clientId, clean: true, ca: fixture.rootPem, cert: device.certPem, key: device.keyPem };
      assert.equal(await connectOutcome(accountUrl(), withCertificate), 'connack 2', 'account broker, valid certificate');
    });
  }

  it('Should refuse each of them in a batch too, naming every item', async () => {
    const refused = clientIdCases.filter((item) => !item.acceptable);
    const batch = await fixture.api<{ errors: { path: string }[] }>('POST', '/provision-requests/batch', {
      requests: refused.map(({ clientId }) => ({ accountId, clientId })),
    });
    assert.equal(batch.status, 400);
    const paths = new Set(batch.body.errors.map((error) => error.path));
    refused.forEach(({ label }, index) => assert.ok(paths.has(`body/requests/${index}/clientId`), label));
  });

  for (const { label, clientId } of clientIdCases.filter((item) => item.acceptable)) {
    it(`Should accept ${label} ${shown(clientId)}: 201 from the API, CONNACK 0 with its credentials`, async () => {
      const created = await fixture.api<{ clientId: string; credentials: { username: string; password: string } }>('POST', '/provision-requests', {
        accountId,
        clientId,
      });
      assert.equal(created.status, 201, JSON.stringify(created.body));
      assert.equal(created.body.clientId, clientId);
      const { username, password } = created.body.credentials;
      assert.equal(await connectOutcome(tlsUrl(), { clientId, username, password, clean: true, ca: fixture.rootPem }), 'connected', 'TLS');
      assert.equal(await connectOutcome(tcpUrl(), { clientId, username, password, clean: true }), 'connected', 'TCP');
    });
  }
});
