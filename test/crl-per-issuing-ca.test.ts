import assert from 'node:assert/strict';
import { readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { distinctFreePorts } from '../dev-support/ports.ts';
import { hasOpenssl, openssl, removeTemporaryDirectories, temporaryDirectory } from './support/ca-test-kit.ts';
import { runPlatformCommand } from './support/platform-command.ts';
import { createAccountAndRequest, startTestPlatform, type TestPlatform } from './support/platform-fixture.ts';
import { provisionOverMqtt, type WireProvisioned } from './support/wire-provisioning.ts';

/**
 * Issue 14 §2 and §3: after a rollover of the issuing CA, a relying party checks a certificate of
 * CA 1 against a CRL signed by CA 1 (RFC 5280 §6.3.3: the CRL issuer must be the certificate
 * issuer). Each device certificate names the list of its own issuing CA; `issue-intermediate`
 * keeps the retired key (encrypted with the passphrase) so that the platform goes on signing CA 1's
 * list, which holds CA 1's revoked serials only, and CA 2's list holds none of them. Checked with
 * openssl as a relying party would, over plain HTTP with no token.
 */
const passphrase = 'per-issuer-crl-passphrase-0123';

describe('one published CRL per issuing CA after a rollover', { skip: hasOpenssl ? false : 'openssl is missing' }, () => {
  let fixture: TestPlatform | undefined;
  after(async () => {
    await fixture?.close();
    await removeTemporaryDirectories();
  });

  /** The URI of the certificate's CRL distribution point, as openssl reads it. */
  function cdpOf(certPem: string): string {
    const shown = openssl(['x509', '-noout', '-ext', 'crlDistributionPoints'], certPem);
    assert.equal(shown.status, 0, shown.stderr);
    const uri = /URI:(\S+)/.exec(shown.stdout)?.[1];
    assert.ok(uri, shown.stdout);
    return uri;
  }

  it(
    'Should give a CA 1 certificate a list signed by CA 1 that revokes it, and a CA 2 certificate a list of CA 2 without it',
    { timeout: 120_000 },
    async () => {
      const dataDir = await temporaryDirectory('provisio-crl-issuers-');
      const work = await temporaryDirectory('provisio-crl-issuers-files-');
      const [provisionMqttsPort = 0, accountMqttsPort = 0, httpPort = 0] = await distinctFreePorts(3);
      const settings = { dataDir, provisionMqttsPort, accountMqttsPort, httpPort, caKeyPassphrase: passphrase };
      const provision = async (clientId: string): Promise<WireProvisioned> =>
        provisionOverMqtt({
          provisionUrl: `mqtts://localhost:${provisionMqttsPort}`,
          rootPem: fixture!.rootPem,
          ...(await createAccountAndRequest(fixture!, clientId)),
          requestId: `${clientId}-1`,
        });

      // --- Under CA 1.
      fixture = await startTestPlatform(settings);
      const ca1Pem = fixture.platform.ca.issuingCertificatePem;
      const deviceOfCa1 = await provision('crl-issuer-one');
      await fixture.close();
      fixture = undefined;

      // --- The rollover: the old key is kept beside the old certificate, encrypted like the issuing key.
      const rolled = await runPlatformCommand('ca', ['issue-intermediate'], { PROVISIO_DATA_DIR: dataDir, PROVISIO_CA_KEY_PASSPHRASE: passphrase });
      assert.equal(rolled.status, 0, rolled.stderr);
      const keptKey = /its key kept in (\S+): the platform signs that CA's CRL with it/.exec(rolled.stdout)?.[1];
      assert.ok(keptKey, rolled.stdout);
      assert.match(await readFile(keptKey, 'utf8'), /-----BEGIN ENCRYPTED PRIVATE KEY-----/);

      // --- Under CA 2.
      fixture = await startTestPlatform(settings);
      const ca2Pem = fixture.platform.ca.issuingCertificatePem;
      assert.notEqual(ca2Pem, ca1Pem);
      const deviceOfCa2 = await provision('crl-issuer-two');
      assert.equal((await fixture.api('POST', `/certificates/${deviceOfCa1.serial}/revoke`, { reason: 'keyCompromise' })).status, 200);

      const files = {
        root: join(work, 'root.pem'),
        ca1: join(work, 'ca1.pem'),
        ca2: join(work, 'ca2.pem'),
        chain1: join(work, 'chain1.pem'),
        chain2: join(work, 'chain2.pem'),
        device1: join(work, 'device1.pem'),
        device2: join(work, 'device2.pem'),
      };
      await writeFile(files.root, fixture.rootPem);
      await writeFile(files.ca1, ca1Pem);
      await writeFile(files.ca2, ca2Pem);
      await writeFile(files.chain1, ca1Pem + fixture.rootPem);
      await writeFile(files.chain2, ca2Pem + fixture.rootPem);
      await writeFile(files.device1, deviceOfCa1.certPem);
      await writeFile(files.device2, deviceOfCa2.certPem);

      /** Fetches `uri` with no token, writes the list as PEM, checks its signature against `chain` and returns its text. */
      async function fetchedList(uri: string, name: string, chain: string): Promise<{ text: string; file: string }> {
        const response = await fetch(uri, { headers: { 'cache-control': 'max-age=0' } });
        assert.equal(response.status, 200, `${uri}: ${response.status}`);
        assert.equal(response.headers.get('content-type'), 'application/pkix-crl');
        const der = join(work, `${name}.crl`);
        const file = join(work, `${name}.crl.pem`);
        await writeFile(der, Buffer.from(await response.arrayBuffer()));
        assert.equal(openssl(['crl', '-inform', 'DER', '-in', der, '-outform', 'PEM', '-out', file]).status, 0);
        const checked = openssl(['crl', '-in', file, '-CAfile', chain, '-noout', '-text']);
        assert.equal(checked.status, 0, checked.stderr);
        assert.match(checked.stdout + checked.stderr, /verify OK/);
        return { text: checked.stdout, file };
      }
      const verifyWithCrl = (crlFile: string, issuing: string, device: string) =>
        openssl(['verify', '-crl_check', '-CAfile', files.root, '-untrusted', issuing, '-CRLfile', crlFile, device]);
      const lists = (serial: string): RegExp => new RegExp(`Serial Number: 0*${serial.replace(/^0+/, '')}\\b`, 'i');

      // The CA 1 certificate names CA 1's list, which CA 1 signed and which revokes it.
      const uri1 = cdpOf(deviceOfCa1.certPem);
      const uri2 = cdpOf(deviceOfCa2.certPem);
      assert.notEqual(uri1, uri2, 'each certificate names the list of its own issuer');
      const list1 = await fetchedList(uri1, 'ca1', files.chain1);
      assert.match(list1.text, lists(deviceOfCa1.serial));
      const refused = verifyWithCrl(list1.file, files.ca1, files.device1);
      assert.notEqual(refused.status, 0);
      assert.match(refused.stdout + refused.stderr, /certificate revoked/);

      // The CA 2 certificate names CA 2's list: signed by CA 2, without CA 1's serial, and good for it.
      const list2 = await fetchedList(uri2, 'ca2', files.chain2);
      assert.doesNotMatch(list2.text, lists(deviceOfCa1.serial));
      assert.match(list2.text, /No Revoked Certificates/);
      const accepted = verifyWithCrl(list2.file, files.ca2, files.device2);
      assert.equal(accepted.status, 0, accepted.stdout + accepted.stderr);
      // Neither list passes as the other CA's.
      assert.notEqual(openssl(['crl', '-in', list2.file, '-CAfile', files.chain1, '-noout']).status, 0);
      assert.notEqual(openssl(['crl', '-in', list1.file, '-CAfile', files.chain2, '-noout']).status, 0);

      // /crl/issuing-ca.crl, which certificates issued before per-CA lists name, is the list of the CA in use.
      const compatible = await fetchedList(`http://127.0.0.1:${httpPort}/crl/issuing-ca.crl`, 'compatible', files.chain2);
      assert.doesNotMatch(compatible.text, lists(deviceOfCa1.serial));

      // A CA 2 revocation goes on CA 2's list only.
      assert.equal((await fixture.api('POST', `/certificates/${deviceOfCa2.serial}/revoke`, { reason: 'superseded' })).status, 200);
      const list2After = await fetchedList(uri2, 'ca2-after', files.chain2);
      assert.match(list2After.text, lists(deviceOfCa2.serial));
      assert.doesNotMatch(list2After.text, lists(deviceOfCa1.serial));
      const list1After = await fetchedList(uri1, 'ca1-after', files.chain1);
      assert.match(list1After.text, lists(deviceOfCa1.serial));
      assert.doesNotMatch(list1After.text, lists(deviceOfCa2.serial));

      // An issuing CA the platform signs no list for is not found.
      assert.equal((await fetch(`http://127.0.0.1:${httpPort}/crl/issuing-ca-0123456789abcdef.crl`)).status, 404);

      // Without the kept key the platform signs no list for CA 1 (operator CAs, rollovers before this change).
      await fixture.close();
      fixture = undefined;
      await rm(keptKey);
      fixture = await startTestPlatform(settings);
      assert.equal((await fetch(uri1)).status, 404);
      await fetchedList(uri2, 'ca2-restarted', files.chain2);
    },
  );
});
