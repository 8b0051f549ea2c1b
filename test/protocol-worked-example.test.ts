import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { X509Certificate } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { skipUnlessInstalled } from './support/external-tools.ts';
import type { TestPlatform } from './support/platform-fixture.ts';
import { afterProvisioning, protocolSpec, runBash, shellBlocks, workedExampleInstall, workedExampleTools } from './support/worked-example.ts';

/** §13, "Worked example: renewing": continues §12's device. */
async function renewalExample(): Promise<string> {
  return shellBlocks(await protocolSpec(), /^### Worked example: renewing/m, 8).join('\n');
}

/** A certificate's serial as the store keeps it (lower-case hex; `openssl x509 -serial` prints it upper case). */
function serialOf(pem: string): string {
  return new X509Certificate(pem).serialNumber.toLowerCase();
}

/** What a reader of §13's example sees, and what the platform recorded: one renewal of the old certificate, used, the old one revoked. */
async function assertRenewed(fixture: TestPlatform, workDir: string, output: string): Promise<void> {
  assert.match(output, /^true$/m, 'jq found the 200 reply to renew-1');
  assert.match(output, /Verified OK/, 'openssl verified the signature over the renewal result');
  assert.match(output, /new-client\.pem: OK/, 'openssl verified the new certificate against the root');
  assert.match(output, /new certificate accepted/, 'the account broker accepted the new certificate');
  assert.match(output, /old certificate refused/, 'mosquitto_sub failed with the old certificate');
  assert.match(output, /not authori[sz]ed/i, 'the account broker refused the old certificate (CONNACK 5)');

  const oldSerial = serialOf(await readFile(join(workDir, 'client.pem'), 'utf8'));
  const newSerial = serialOf(await readFile(join(workDir, 'new-client.pem'), 'utf8'));
  assert.notEqual(newSerial, oldSerial, 'a new serial');
  assert.match(output, new RegExp(`^old serial=${oldSerial}$`, 'im'), 'the reader sees the old serial');
  assert.match(output, new RegExp(`^new serial=${newSerial}$`, 'im'), 'the reader sees the new serial');
  const body = JSON.parse(await readFile(join(workDir, 'body.bin'), 'utf8')) as { clientId: string };
  const certificates = await fixture.platform.store.listClientCertificates(body.clientId);
  assert.deepEqual(
    certificates.map((certificate) => certificate.serial).sort(),
    [oldSerial, newSerial].sort(),
    'the provisioned certificate and one renewal: a repeat issues no second certificate',
  );
  const renewed = certificates.find((certificate) => certificate.serial === newSerial);
  const old = certificates.find((certificate) => certificate.serial === oldSerial);
  assert.equal(renewed?.status, 'VALID');
  assert.equal(renewed?.renewsSerial, oldSerial, 'the platform records the new certificate as the renewal of the old one');
  assert.equal(renewed?.renewalRequestId, 'renew-1');
  assert.notEqual(renewed?.renewalSettledOn ?? null, null, 'the CONNECT with the new certificate settled the renewal');
  assert.equal(old?.status, 'REVOKED', 'the old certificate is revoked');
  assert.match(old?.revocationReason ?? '', /^superseded/, 'revoked as superseded');
  const device = await fixture.platform.store.getDevice(old?.accountId ?? '', body.clientId);
  assert.equal(device?.certificateSerial, newSerial, 'the device record names the new certificate');
}

/** Step 4's request, exactly as the document sends it. */
const renewalPublish = 'mosquitto_pub $OLD -c -t "$NS/CERT-V1/EXEC/renew" -f renew.json\n';

describe('docs/PROTOCOL.md worked examples', () => {
  it('run as written with mosquitto_pub, mosquitto_sub, curl, jq and openssl: §12 provisioning, then §13 renewal', async (t) => {
    if (skipUnlessInstalled(t, workedExampleTools, workedExampleInstall, 'PROVISIO_TEST_REQUIRE_MOSQUITTO')) return;
    const renewal = await renewalExample();
    await afterProvisioning(t, async ({ fixture, workDir, rootFile }) => {
      await t.test('§13: the same device renews its certificate, connects with the new one, and the old one is refused', async () => {
        // Only ROOT: the §13 example takes everything else from the files §12 left.
        const result = await runBash(renewal, workDir, { ROOT: rootFile });
        assert.equal(result.code, 0, `the §13 worked example failed:\n${result.output}`);
        await assertRenewed(fixture, workDir, result.output);
      });
    });
  });

  it('§13: when the reply to the renewal is lost, the example sends the same request again and gets the same certificate', async (t) => {
    if (skipUnlessInstalled(t, workedExampleTools, workedExampleInstall, 'PROVISIO_TEST_REQUIRE_MOSQUITTO')) return;
    const renewal = await renewalExample();
    assert.equal(renewal.split(renewalPublish).length, 3, 'step 4 and step 5 send the renewal request with the same command');
    // Step 4's mosquitto_pub stays connected for 2 s (-l reads the message from stdin): the reply
    // comes while it holds the device's session, goes to it and is lost, as step 5 warns.
    const lostReply = renewal.replace(renewalPublish, `(tr -d '\\n' < renew.json; echo; sleep 2) | mosquitto_pub $OLD -c -t "$NS/CERT-V1/EXEC/renew" -l\n`);
    await afterProvisioning(t, async ({ fixture, workDir, rootFile }) => {
      await t.test('§13 with the first reply lost', async () => {
        const result = await runBash(lostReply, workDir, { ROOT: rootFile });
        assert.equal(result.code, 0, `the §13 worked example failed:\n${result.output}`);
        assert.match(result.output, /Timed out/, 'the first mosquitto_sub of step 5 got no reply');
        await assertRenewed(fixture, workDir, result.output);
      });
    });
  });
});
