import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connackOf, createAccountAndRequest, startTestPlatform, type TestPlatform } from './support/platform-fixture.ts';
import { hasOpenssl, openssl } from './support/ca-test-kit.ts';
import { connectAccount, provisionOverMqtt, type WireProvisioned } from './support/wire-provisioning.ts';

/**
 * Issue 14 §2: the CRL is published over plain HTTP, without credentials, at the URL every device
 * certificate names in its CRL distribution point; it lists a revocation as soon as the admin API
 * answered it, and is signed again before its nextUpdate. Checked with openssl, as a relying party would.
 */

/** Short, so that the refresh at half of it is seen within the test. */
const crlValiditySeconds = 6;

async function fetchCrl(url: string, headers: Record<string, string> = {}): Promise<{ response: Response; der: Buffer }> {
  // fetch adds "Cache-Control: no-cache" to a conditional request unless one is given (and no-cache asks for the whole answer).
  const response = await fetch(url, { headers: { 'cache-control': 'max-age=0', ...headers } });
  return { response, der: Buffer.from(await response.arrayBuffer()) };
}

describe('the published CRL', { skip: hasOpenssl ? false : 'openssl is missing' }, () => {
  let fixture: TestPlatform;
  let dir: string;
  let device: WireProvisioned;
  let crlUrl: string;
  let files: { chain: string; root: string; issuing: string; device: string };

  before(async () => {
    fixture = await startTestPlatform({ crlValiditySeconds });
    dir = await mkdtemp(join(tmpdir(), 'provisio-crl-'));
    const request = await createAccountAndRequest(fixture, 'crl-device-1');
    device = await provisionOverMqtt({
      provisionUrl: `mqtts://localhost:${fixture.platform.provisionBroker.mqttsPort}`,
      rootPem: fixture.rootPem,
      ...request,
      requestId: 'crl-1',
    });
    files = { chain: join(dir, 'chain.pem'), root: join(dir, 'root.pem'), issuing: join(dir, 'issuing.pem'), device: join(dir, 'device.pem') };
    await writeFile(files.chain, fixture.platform.ca.chainPem);
    await writeFile(files.root, fixture.platform.ca.rootCertificatePem);
    await writeFile(files.issuing, fixture.platform.ca.issuingCertificatePem);
    await writeFile(files.device, device.certPem);
  });
  after(async () => {
    await fixture?.close();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  /** Writes the DER list, checks its signature with openssl and returns its text form. */
  async function checkedCrlText(der: Buffer, name: string): Promise<string> {
    const file = join(dir, `${name}.crl`);
    await writeFile(file, der);
    const checked = openssl(['crl', '-inform', 'DER', '-in', file, '-CAfile', files.chain, '-noout', '-text']);
    assert.equal(checked.status, 0, checked.stderr);
    assert.match(checked.stderr + checked.stdout, /verify OK/);
    return checked.stdout;
  }

  /** openssl verify of the device certificate against the chain and this CRL (-crl_check). */
  async function verifyWithCrl(der: Buffer, name: string): Promise<{ status: number | null; output: string }> {
    const pemFile = join(dir, `${name}.crl.pem`);
    const converted = openssl(['crl', '-inform', 'DER', '-in', join(dir, `${name}.crl`), '-outform', 'PEM', '-out', pemFile]);
    assert.equal(converted.status, 0, converted.stderr);
    assert.ok(der.length > 0);
    const verified = openssl(['verify', '-crl_check', '-CAfile', files.root, '-untrusted', files.issuing, '-CRLfile', pemFile, files.device]);
    return { status: verified.status, output: verified.stdout + verified.stderr };
  }

  it("names the CRL's public URL in the device certificate's CRL distribution point", () => {
    const shown = openssl(['x509', '-in', files.device, '-noout', '-ext', 'crlDistributionPoints']);
    assert.equal(shown.status, 0, shown.stderr);
    const uri = /URI:(\S+)/.exec(shown.stdout)?.[1];
    // The list of its issuer, named by the first 16 hex digits of the issuing CA's key identifier.
    const ski = openssl(['x509', '-in', files.issuing, '-noout', '-ext', 'subjectKeyIdentifier']);
    const issuingCaId = /\n\s*([0-9A-F:]+)/.exec(ski.stdout)![1]!.replace(/:/g, '').toLowerCase().slice(0, 16);
    assert.equal(uri, `http://localhost:${fixture.platform.http.port}/crl/issuing-ca-${issuingCaId}.crl`, shown.stdout);
    crlUrl = uri!.replace('localhost', '127.0.0.1');
  });

  it('serves it over plain HTTP with no token: DER, signed by the issuing CA, with caching headers bounded by nextUpdate', async () => {
    const { response, der } = await fetchCrl(crlUrl);
    assert.equal(response.status, 200);
    assert.equal(response.headers.get('content-type'), 'application/pkix-crl');
    const text = await checkedCrlText(der, 'first');
    assert.match(text, /No Revoked Certificates/);
    const nextUpdate = Date.parse(/Next Update: (.+)/.exec(text)![1]!);
    const lastUpdate = Date.parse(/Last Update: (.+)/.exec(text)![1]!);
    assert.equal(nextUpdate - lastUpdate, crlValiditySeconds * 1000);
    assert.equal(Date.parse(response.headers.get('last-modified')!), lastUpdate);
    assert.equal(Date.parse(response.headers.get('expires')!), nextUpdate);
    const maxAge = Number(/max-age=(\d+)/.exec(response.headers.get('cache-control') ?? '')?.[1]);
    assert.ok(maxAge >= 0 && maxAge * 1000 <= nextUpdate - Date.now() + 1000, `max-age ${maxAge} s runs past nextUpdate`);
    const crlNumber = /X509v3 CRL Number:\s*\n\s*(\S+)/.exec(text)?.[1];
    assert.ok(crlNumber);
    // openssl prints a small number in decimal, a large one as hex bytes with colons.
    const number = crlNumber.includes(':') ? BigInt(`0x${crlNumber.replace(/:/g, '')}`) : BigInt(crlNumber);
    assert.equal(response.headers.get('etag'), `"${number.toString(16)}"`, 'the ETag is the cRLNumber');
    const again = await fetchCrl(crlUrl, { 'if-none-match': response.headers.get('etag')! });
    assert.equal(again.response.status, 304);
    assert.equal((await verifyWithCrl(der, 'first')).status, 0, 'the device certificate is good against this list');
  });

  it('lists a certificate revoked over the admin API in the very next fetch, and the account broker refuses it', async () => {
    const before = await fetchCrl(crlUrl);
    const online = await connectAccount(`mqtts://localhost:${fixture.platform.accountBroker.mqttsPort}`, fixture.rootPem, 'crl-device-1', device);
    const closed = new Promise<void>((resolve) => online.once('close', () => resolve()));
    const revoked = await fixture.api('POST', `/certificates/${device.serial}/revoke`, { reason: 'keyCompromise' });
    assert.equal(revoked.status, 200);
    const { response, der } = await fetchCrl(crlUrl);
    assert.equal(response.status, 200);
    assert.notEqual(response.headers.get('etag'), before.response.headers.get('etag'), 'a new list');
    assert.ok(
      BigInt(`0x${response.headers.get('etag')!.replace(/"/g, '')}`) > BigInt(`0x${before.response.headers.get('etag')!.replace(/"/g, '')}`),
      'cRLNumber grows',
    );
    const text = await checkedCrlText(der, 'revoked');
    assert.match(text, new RegExp(`Serial Number: 0*${device.serial}`, 'i'));
    const verified = await verifyWithCrl(der, 'revoked');
    assert.notEqual(verified.status, 0);
    assert.match(verified.output, /certificate revoked/);
    // A conditional request with the old ETag gets the new list, not 304.
    assert.equal((await fetchCrl(crlUrl, { 'if-none-match': before.response.headers.get('etag')! })).response.status, 200);
    await closed;
    assert.equal(await connackOf(connectAccount(`mqtts://localhost:${fixture.platform.accountBroker.mqttsPort}`, fixture.rootPem, 'crl-device-1', device)), 5);
  });

  it('leaves out revoked certificates that have expired (RFC 5280 §3.3: relying parties refuse them by date anyway)', async () => {
    const stored = (await fixture.platform.store.getCertificate(device.serial))!;
    const expired = await fixture.platform.store.recordCertificate({
      serial: '7e57ab1e0001',
      accountId: stored.accountId,
      clientId: 'crl-device-1',
      provisionRequestId: stored.provisionRequestId,
      pem: stored.pem,
      notBefore: Date.now() - 3 * 86_400_000,
      notAfter: Date.now() - 86_400_000,
    });
    assert.equal((await fixture.api('POST', `/certificates/${expired.serial}/revoke`, { reason: 'keyCompromise' })).status, 200);
    const text = await checkedCrlText((await fetchCrl(crlUrl)).der, 'expired');
    assert.doesNotMatch(text, /Serial Number: 0*7E57AB1E0001/i, 'an expired certificate stays off the list');
    assert.match(text, new RegExp(`Serial Number: 0*${device.serial}`, 'i'), 'the revoked certificate still valid by date is listed');
  });

  it('is signed again at half its validity, before nextUpdate, with no revocation to prompt it', async () => {
    const first = await fetchCrl(crlUrl);
    const firstNumber = first.response.headers.get('etag');
    const firstNextUpdate = Date.parse(first.response.headers.get('expires')!);
    const deadline = Date.now() + crlValiditySeconds * 1000;
    for (;;) {
      const { response, der } = await fetchCrl(crlUrl);
      const nextUpdate = Date.parse(response.headers.get('expires')!);
      assert.ok(Date.now() < nextUpdate, 'the served list is never past its nextUpdate');
      if (response.headers.get('etag') !== firstNumber) {
        assert.ok(nextUpdate > firstNextUpdate);
        assert.match(await checkedCrlText(der, 'refreshed'), new RegExp(`Serial Number: 0*${device.serial}`, 'i'));
        break;
      }
      assert.ok(Date.now() < deadline, 'no new list within the validity');
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
  });

  it('keeps the admin route: the same list in PEM, behind the token', async () => {
    const withoutToken = await fetch(`${fixture.apiUrl}/crl`);
    assert.equal(withoutToken.status, 401);
    const response = await fetch(`${fixture.apiUrl}/crl`, { headers: { authorization: `Bearer ${fixture.adminToken}` } });
    assert.equal(response.status, 200);
    assert.match(await response.text(), /-----BEGIN X509 CRL-----/);
  });
});
