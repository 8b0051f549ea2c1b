import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { connackOf, createAccountAndRequest, startTestPlatform, type CreatedRequest, type TestPlatform } from './support/platform-fixture.ts';
import { connectAccount, provisionOverMqtt } from './support/wire-provisioning.ts';

/**
 * Issue 14 §1, the expired-certificate path: a device whose request is used up (COMPLETED) or out
 * of attempts (FAILED) is refused by the provision broker until an operator calls
 * POST /api/v1/provision-requests/{id}/reprovision; then the device provisions again with its
 * original credentials, gets a new certificate, and its old one is revoked. All over real sockets.
 */

interface RequestView {
  id: string;
  status: string;
  jobStatus: string;
  retryCount: number;
  expiresOn: string;
  username: string;
}

describe('re-provisioning a request over the admin API', () => {
  let fixture: TestPlatform;
  let provisionUrl: string;
  let accountUrl: string;

  before(async () => {
    fixture = await startTestPlatform();
    provisionUrl = `mqtts://localhost:${fixture.platform.provisionBroker.mqttsPort}`;
    accountUrl = `mqtts://localhost:${fixture.platform.accountBroker.mqttsPort}`;
  });
  after(() => fixture?.close());

  const provision = (request: CreatedRequest, requestId: string) => provisionOverMqtt({ provisionUrl, rootPem: fixture.rootPem, ...request, requestId });

  const connackWith = (request: CreatedRequest) =>
    connackOf(fixture.connectProvision({ clientId: request.clientId, username: request.username, password: request.password }));

  it('lets a COMPLETED device provision again with the same credentials: a new certificate, the old one revoked', async () => {
    const request = await createAccountAndRequest(fixture, 'reprov-1');
    const first = await provision(request, 'first-1');
    const online = await connectAccount(accountUrl, fixture.rootPem, request.clientId, first);
    await online.endAsync();
    assert.equal(await connackWith(request), 4, 'used up: the credentials no longer open the provision broker');

    const answer = await fixture.api<RequestView>('POST', `/provision-requests/${request.id}/reprovision`);
    assert.equal(answer.status, 200, JSON.stringify(answer.body));
    assert.equal(answer.body.status, 'ENABLED');
    assert.equal(answer.body.jobStatus, 'CREATED');
    assert.equal(answer.body.retryCount, 0);
    assert.equal(answer.body.username, request.username);

    const second = await provision(request, 'second-1');
    assert.notEqual(second.serial, first.serial);
    assert.equal(second.result.clientId, request.clientId);
    const certificates = await fixture.api<{ items: { serial: string; status: string }[] }>('GET', `/certificates?clientId=${request.clientId}`);
    const statusOf = (serial: string) => certificates.body.items.find((item) => item.serial === serial)?.status;
    assert.equal(statusOf(first.serial), 'REVOKED');
    assert.equal(statusOf(second.serial), 'VALID');
    assert.equal(await connackOf(connectAccount(accountUrl, fixture.rootPem, request.clientId, first)), 5, 'the old certificate is refused');
    const again = await connectAccount(accountUrl, fixture.rootPem, request.clientId, second);
    await again.endAsync();
    const completed = await fixture.api<RequestView>('GET', `/provision-requests/${request.id}`);
    assert.equal(completed.body.jobStatus, 'COMPLETED');
    assert.equal(completed.body.status, 'DISABLED');
    assert.equal(await connackWith(request), 4, 'used up again');

    const audit = await fixture.api<{ items: { actor: string; detail: { previousJobStatus: string } }[] }>(
      'GET',
      `/audit-events?type=request.reprovision&clientId=${request.clientId}`,
    );
    assert.equal(audit.body.items.length, 1);
    assert.equal(audit.body.items[0]!.actor, 'admin');
    assert.equal(audit.body.items[0]!.detail.previousJobStatus, 'COMPLETED');
  });

  it('lets a FAILED request (out of attempts) start again from zero attempts, with an account token', async () => {
    const request = await createAccountAndRequest(fixture, 'reprov-failed', { account: 'globex', generateActivationKey: true, extra: { retryMaxAttempts: 1 } });
    // One wrong activation key uses the only attempt: FAILED and disabled.
    await assert.rejects(
      provisionOverMqtt({ provisionUrl, rootPem: fixture.rootPem, ...request, activationKey: undefined, requestId: 'no-key' }),
      /provision reply 401: ACTIVATION_KEY_INVALID/,
    );
    const failed = await fixture.api<RequestView>('GET', `/provision-requests/${request.id}`);
    assert.equal(failed.body.jobStatus, 'FAILED');
    assert.equal(failed.body.status, 'DISABLED');

    const token = await fixture.api<{ token: string }>('POST', '/api-tokens', { accountId: request.accountId });
    const acme = await createAccountAndRequest(fixture, 'reprov-other-account');
    const otherToken = await fixture.api<{ token: string }>('POST', '/api-tokens', { accountId: acme.accountId });
    const call = (bearer: string) =>
      fetch(`${fixture.apiUrl}/provision-requests/${request.id}/reprovision`, { method: 'POST', headers: { authorization: `Bearer ${bearer}` } });
    assert.equal((await call(otherToken.body.token)).status, 404, "another account's token does not see it");
    assert.equal((await fetch(`${fixture.apiUrl}/provision-requests/${request.id}/reprovision`, { method: 'POST' })).status, 401);
    const answer = await call(token.body.token);
    assert.equal(answer.status, 200);
    const body = (await answer.json()) as RequestView;
    assert.equal(body.retryCount, 0);
    assert.equal(body.status, 'ENABLED');

    const provisioned = await provision(request, 'with-key');
    assert.equal(provisioned.result.account, 'globex');
  });

  it('gives an expired request a new validity, and refuses a request that is not finished', async () => {
    const request = await createAccountAndRequest(fixture, 'reprov-expired');
    await provision(request, 'exp-1');
    const stored = await fixture.platform.store.getProvisionRequest(request.id);
    // A year later: the request's own validity (7 days by default) is long gone.
    await fixture.platform.store.updateProvisionRequest(request.id, stored!.version, {
      expiresOn: Date.now() - 1000,
      activatesOn: Date.now() - 2000,
      modifiedBy: 'test',
    });
    const answer = await fixture.api<RequestView>('POST', `/provision-requests/${request.id}/reprovision`);
    assert.equal(answer.status, 200);
    const validFor = Date.parse(answer.body.expiresOn) - Date.now();
    assert.ok(validFor > 6.9 * 86_400_000 && validFor <= 7 * 86_400_000, `expiresOn ${answer.body.expiresOn}`);
    await provision(request, 'exp-2');

    const open = await createAccountAndRequest(fixture, 'reprov-open');
    const refused = await fixture.api<{ code: string }>('POST', `/provision-requests/${open.id}/reprovision`);
    assert.equal(refused.status, 409);
    assert.equal(refused.body.code, 'REQUEST_WRONG_STATE');
    assert.equal((await fixture.api('POST', '/provision-requests/no-such-request/reprovision')).status, 404);
  });
});
