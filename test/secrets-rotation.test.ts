import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import type { MqttClient } from 'mqtt';
import { verifyProvisionReply } from '../agent-sim/reply-verification.ts';
import type { ReplyMessage } from '../protocol/messages.ts';
import { createAccountAndRequest, startTestPlatform, type CreatedRequest, type TestPlatform } from './support/platform-fixture.ts';
import { listenForReplies, requestProvisioning } from './support/device-exchange.ts';
import { runPlatformCommand } from './support/platform-command.ts';
import { makeDeviceKey } from '../agent-sim/provisioning-flow.ts';
import { createCertificateSigningRequest } from '../protocol/csr.ts';

/**
 * Issue 12 §2 / docs/OPERATIONS.md: the secrets rotate without re-provisioning the fleet. A
 * device repeating the request.id of an attempt answered before a device-key rotation still gets
 * the key its certificate holds; links handed out before a bundle-token rotation open until the
 * previous value is dropped, and a repeat then gets fresh ones.
 */
const directories: string[] = [];
async function temporaryDirectory(): Promise<string> {
  const directory = await mkdtemp(join(tmpdir(), 'provisio-rotation-'));
  directories.push(directory);
  return directory;
}

/** One provision message over TLS and its reply, checked as a device checks it. */
async function provisionAttempt(
  fixture: TestPlatform,
  request: CreatedRequest,
  requestId: string,
  csr?: { pem: string; key: ReturnType<typeof makeDeviceKey> },
) {
  const client: MqttClient = await fixture.connectProvision({ clientId: request.clientId, username: request.username, password: request.password });
  try {
    const replyTo = await listenForReplies(client, request.clientId);
    await requestProvisioning(client, request.clientId, requestId, csr ? { csr: csr.pem } : {});
    const reply: ReplyMessage = await replyTo(requestId);
    return {
      reply,
      verified: () =>
        verifyProvisionReply(reply, {
          trustedRootPem: fixture.rootPem,
          caAuthentication: true,
          clientId: request.clientId,
          requestId,
          ...(csr ? { devicePublicKey: csr.key } : {}),
        }),
    };
  } finally {
    await client.endAsync();
  }
}

describe('secret rotation without re-provisioning', () => {
  after(() => Promise.all(directories.splice(0).map((directory) => rm(directory, { recursive: true, force: true }))));

  it('Should give a device repeating its request.id after a device-key rotation the key its certificate holds', { timeout: 60_000 }, async () => {
    const dataDir = await temporaryDirectory();
    const settings = { PROVISIO_DATA_DIR: dataDir };
    let fixture = await startTestPlatform({ dataDir });
    const request = await createAccountAndRequest(fixture, 'rotating-1');
    const first = (await provisionAttempt(fixture, request, 'attempt-1')).verified();
    assert.ok(first.certificates.clientKey, 'the platform made the key');
    await fixture.close();

    const rotated = await runPlatformCommand('secrets', ['rotate', 'device-key'], settings);
    assert.equal(rotated.status, 0, rotated.stderr);
    fixture = await startTestPlatform({ dataDir });
    try {
      const repeat = (await provisionAttempt(fixture, request, 'attempt-1')).verified();
      assert.equal(repeat.certificates.client, first.certificates.client, 'the same certificate');
      assert.equal(repeat.certificates.clientKey, first.certificates.clientKey, 'the same key, derived with the previous secret');

      const status = await runPlatformCommand('secrets', ['status'], settings);
      assert.equal(status.status, 0, status.stderr);
      assert.match(status.stdout, /needed by 1 attempt in progress/);
      for (const secret of [first.certificates.clientKey as string]) assert.ok(!status.stdout.includes(secret));
      const refused = await runPlatformCommand('secrets', ['drop-previous', 'device-key'], settings);
      assert.equal(refused.status, 1);
      assert.match(refused.stderr, /1 attempt\(s\) in progress still need a previous device-key secret[\s\S]*rotating-1/);

      // The device starts a new attempt: its key now comes from the new secret, and nothing needs the old one.
      const next = (await provisionAttempt(fixture, request, 'attempt-2')).verified();
      assert.notEqual(next.certificates.clientKey, first.certificates.clientKey);
      const dropped = await runPlatformCommand('secrets', ['drop-previous', 'device-key'], settings);
      assert.equal(dropped.status, 0, dropped.stderr);
      assert.match(dropped.stdout, /1 previous value\(s\) dropped/);
    } finally {
      await fixture.close();
    }
  });

  it(
    'Should keep links handed out before a bundle-token rotation opening until the previous value is dropped; a repeat then gets fresh ones',
    { timeout: 60_000 },
    async () => {
      const dataDir = await temporaryDirectory();
      const settings = { PROVISIO_DATA_DIR: dataDir };
      let fixture = await startTestPlatform({ dataDir });
      const request = await createAccountAndRequest(fixture, 'rotating-links');
      const upload = await fetch(`${fixture.apiUrl}/bundles?accountId=${request.accountId}&name=org.example.rotated&version=1.0.0`, {
        method: 'POST',
        headers: { authorization: `Bearer ${fixture.adminToken}`, 'content-type': 'application/octet-stream' },
        body: Buffer.from('rotated bundle'),
      });
      assert.equal(upload.status, 201);
      const bundle = (await upload.json()) as { id: string };
      const current = await fixture.api('GET', `/provision-requests/${request.id}`);
      assert.equal((await fixture.api('PATCH', `/provision-requests/${request.id}`, { version: current.body['version'], bundleIds: [bundle.id] })).status, 200);
      const key = makeDeviceKey();
      const csr = { pem: createCertificateSigningRequest('rotating-links', key), key };
      const firstLink = (await provisionAttempt(fixture, request, 'attempt-1', csr)).verified().bundles[0]!.url;
      await fixture.close();

      const port = (url: string) => new URL(url).port;
      const rotated = await runPlatformCommand('secrets', ['rotate', 'bundle-token'], settings);
      assert.equal(rotated.status, 0, rotated.stderr);
      fixture = await startTestPlatform({ dataDir, httpPort: Number(port(firstLink)) });
      try {
        assert.equal((await fetch(firstLink)).status, 200, 'a link made before the rotation still opens');
      } finally {
        await fixture.close();
      }
      const dropped = await runPlatformCommand('secrets', ['drop-previous', 'bundle-token'], settings);
      assert.equal(dropped.status, 0, dropped.stderr);
      fixture = await startTestPlatform({ dataDir, httpPort: Number(port(firstLink)) });
      try {
        assert.equal((await fetch(firstLink)).status, 403, 'dropped: the old link is refused');
        const again = (await provisionAttempt(fixture, request, 'attempt-1', csr)).verified();
        const freshLink = again.bundles[0]!.url;
        assert.notEqual(freshLink, firstLink);
        assert.equal((await fetch(freshLink)).status, 200, 'the repeat carries a link that opens');
      } finally {
        await fixture.close();
      }
    },
  );
});
