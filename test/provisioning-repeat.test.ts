import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { MqttClient } from 'mqtt';
import { makeDeviceKey } from '../agent-sim/provisioning-flow.ts';
import { verifyProvisionReply } from '../agent-sim/reply-verification.ts';
import { createCertificateSigningRequest } from '../protocol/csr.ts';
import { decodeReply, encodeProvisionRequest, type ReplyMessage } from '../protocol/messages.ts';
import { provisionRequestTopic, replyFilter } from '../protocol/topics.ts';
import { createAccountAndRequest, startTestPlatform, type TestPlatform } from './support/platform-fixture.ts';

/**
 * Issue 11 §3: a device that lost its reply after the bundle links expired repeats its request.id
 * and gets the same certificate with links that work (PROTOCOL.md §8, §11); the device facts it
 * sent are shown to the operator (§5).
 */
describe('a repeated request.id', () => {
  let fixture: TestPlatform;
  const bundleContent = Buffer.from('a heater application, version 1');

  before(async () => {
    fixture = await startTestPlatform({ logLevel: 'warn', bundleTokenTtlSeconds: 10 });
  });
  after(() => fixture.close());

  async function provisionOnce(client: MqttClient, clientId: string, requestId: string, csr: string): Promise<ReplyMessage> {
    const reply = new Promise<ReplyMessage>((resolve) => {
      const onMessage = (_topic: string, payload: Buffer): void => {
        const decoded = decodeReply(payload);
        if (decoded.requestId !== requestId) return;
        client.off('message', onMessage);
        resolve(decoded);
      };
      client.on('message', onMessage);
    });
    const device = { model: 'Heater 3000', serial: 'SN-0042', firmware: '1.2.3' };
    await client.publishAsync(
      provisionRequestTopic(fixture.config.provisioningAccount, clientId),
      encodeProvisionRequest({ requestId, requesterClientId: clientId, csr, device }),
      { qos: 1 },
    );
    return reply;
  }

  it('Should carry fresh bundle links (and the same certificate) after the first ones expired', { timeout: 60_000 }, async () => {
    const created = await createAccountAndRequest(fixture, 'repeat-links');
    const upload = await fetch(`${fixture.apiUrl}/bundles?accountId=${created.accountId}&name=org.example.heater&version=1.0.0`, {
      method: 'POST',
      headers: { authorization: `Bearer ${fixture.adminToken}`, 'content-type': 'application/octet-stream' },
      body: bundleContent,
    });
    assert.equal(upload.status, 201);
    const bundle = (await upload.json()) as { id: string };
    const patched = await fixture.api('GET', `/provision-requests/${created.id}`);
    const attach = await fixture.api('PATCH', `/provision-requests/${created.id}`, { version: patched.body['version'], bundleIds: [bundle.id] });
    assert.equal(attach.status, 200, JSON.stringify(attach.body));

    const key = makeDeviceKey();
    const csr = createCertificateSigningRequest('repeat-links', key);
    const client = await fixture.connectProvision({ clientId: 'repeat-links', username: created.username, password: created.password });
    try {
      await client.subscribeAsync(replyFilter(fixture.config.provisioningAccount, 'repeat-links'), { qos: 1 });
      const trust = { trustedRootPem: fixture.rootPem, caAuthentication: true, clientId: 'repeat-links', requestId: 'attempt-1', devicePublicKey: key };
      const first = verifyProvisionReply(await provisionOnce(client, 'repeat-links', 'attempt-1', csr), trust);
      const firstUrl = first.bundles[0]!.url;
      assert.equal((await fetch(firstUrl)).status, 200);
      // Wait for the link to expire (bounded: the TTL is 10 s).
      const deadline = Date.now() + 20_000;
      let status = 200;
      while (status === 200 && Date.now() < deadline) {
        await new Promise((resolve) => setTimeout(resolve, 500));
        status = (await fetch(firstUrl)).status;
      }
      assert.equal(status, 403, 'the first link expired');

      const again = verifyProvisionReply(await provisionOnce(client, 'repeat-links', 'attempt-1', csr), trust);
      assert.equal(again.certificates.client, first.certificates.client, 'the same certificate');
      assert.notEqual(again.bundles[0]!.url, firstUrl, 'a fresh link');
      const download = await fetch(again.bundles[0]!.url);
      assert.equal(download.status, 200);
      assert.deepEqual(Buffer.from(await download.arrayBuffer()), bundleContent);
    } finally {
      await client.endAsync();
    }

    const shown = await fixture.api<{ device: unknown; retryCount: number }>('GET', `/provision-requests/${created.id}`);
    assert.deepEqual(shown.body.device, { model: 'Heater 3000', serial: 'SN-0042', firmware: '1.2.3' }, 'device facts shown to the operator');
    assert.equal(shown.body.retryCount, 1, 'the repeat cost no attempt');
  });
});
