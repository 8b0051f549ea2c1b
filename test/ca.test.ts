import assert from 'node:assert/strict';
import { X509Certificate, createPrivateKey, createPublicKey, sign, verify } from 'node:crypto';
import { readFile, stat } from 'node:fs/promises';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import tls from 'node:tls';
import type { CertificateAuthority } from '../certs/certificate-authority.ts';
import { caFileNames } from '../certs/certificate-authority.ts';
import { PlatformError } from '../errors/platform-error.ts';
import { createCsr, tamperCsrSignature } from '../dev-support/csr.ts';
import { openTestCa, openssl, opensslSkip, removeTemporaryDirectories, temporaryDirectory, writePems } from './support/ca-test-kit.ts';

function rejectsWith(code: string): (error: unknown) => boolean {
  return (error: unknown) => {
    assert.ok(error instanceof PlatformError, `expected a PlatformError, got ${String(error)}`);
    assert.equal(error.code, code, error.message);
    return true;
  };
}

const device = { clientId: 'dev1', account: 'acme' };

describe('certificate authority (EC, generated)', () => {
  let dataDir: string;
  let ca: CertificateAuthority;
  let root: X509Certificate;
  let issuing: X509Certificate;

  before(async () => {
    dataDir = await temporaryDirectory();
    ca = await openTestCa(dataDir);
    root = new X509Certificate(ca.rootCertificatePem);
    issuing = new X509Certificate(ca.issuingCertificatePem);
  });
  after(removeTemporaryDirectories);

  test('Should create a self-signed root and an issuing CA signed by it', () => {
    assert.ok(root.ca && issuing.ca);
    assert.ok(root.verify(root.publicKey), 'root is self-signed');
    assert.ok(issuing.checkIssued(root) && issuing.verify(root.publicKey), 'issuing CA is signed by the root');
    assert.equal(ca.chainPem, ca.issuingCertificatePem + ca.rootCertificatePem);
    const years = (Date.parse(root.validTo) - Date.now()) / (365.25 * 86_400_000);
    assert.ok(years > 9.9 && years < 10.1, `root lives 10 years, got ${years}`);
  });

  test('Should give CA certificates the expected constraints', { skip: opensslSkip }, () => {
    const rootText = openssl(['x509', '-noout', '-text'], ca.rootCertificatePem).stdout;
    assert.match(rootText, /CA:TRUE/);
    assert.match(rootText, /Certificate Sign, CRL Sign/);
    const issuingText = openssl(['x509', '-noout', '-text'], ca.issuingCertificatePem).stdout;
    assert.match(issuingText, /CA:TRUE, pathlen:0/);
    assert.match(issuingText, /Certificate Sign, CRL Sign/);
  });

  test('Should issue a device certificate from an EC CSR that chains to the root', async () => {
    const csr = createCsr({ commonName: 'dev1' });
    const issued = await ca.issueFromCsr(csr.csrPem, device);
    const cert = new X509Certificate(issued.certPem);
    assert.ok(cert.checkIssued(issuing) && cert.verify(issuing.publicKey));
    assert.equal(issued.serial, cert.serialNumber.toLowerCase());
    assert.match(issued.serial, /^[0-7][0-9a-f]{31}$/);
    assert.deepEqual([issued.clientId, issued.account], ['dev1', 'acme']);
    assert.equal(issued.notBefore, Date.parse(cert.validFrom));
    assert.equal(issued.notAfter, Date.parse(cert.validTo));
    assert.ok(Math.abs(issued.notBefore - (Date.now() - 5 * 60_000)) < 5_000, 'notBefore is 5 minutes back');
    assert.ok(Math.abs(issued.notAfter - (Date.now() + 365 * 86_400_000)) < 5_000, 'notAfter per validity days');
    assert.ok(cert.publicKey.equals(createPublicKey(csr.privateKey)), 'certifies the CSR key');
    assert.equal(cert.ca, false);
    assert.deepEqual(cert.keyUsage, ['1.3.6.1.5.5.7.3.2']);
    assert.match(cert.subject, /CN=dev1/);
    assert.match(cert.subject, /O=acme/);
  });

  test('Should pass openssl verify and carry the device extensions', { skip: opensslSkip }, async () => {
    const issued = await ca.issueFromCsr(createCsr({ commonName: 'dev1' }).csrPem, device);
    const dir = await temporaryDirectory();
    const files = await writePems(dir, {
      root: ca.rootCertificatePem,
      issuing: ca.issuingCertificatePem,
      device: issued.certPem,
    });
    const verified = openssl(['verify', '-purpose', 'sslclient', '-CAfile', files.root, '-untrusted', files.issuing, files.device]);
    assert.equal(verified.status, 0, verified.stderr + verified.stdout);
    assert.match(verified.stdout, /: OK/);
    const text = openssl(['x509', '-noout', '-text', '-in', files.device]).stdout;
    assert.match(text, /Subject: O = acme, CN = dev1/);
    assert.match(text, /X509v3 Basic Constraints: critical\s+CA:FALSE/);
    assert.match(text, /X509v3 Key Usage: critical\s+Digital Signature\n/);
    assert.match(text, /X509v3 Extended Key Usage:\s+TLS Web Client Authentication/);
    assert.match(text, /X509v3 Subject Key Identifier/);
    assert.match(text, /X509v3 Authority Key Identifier/);
    assert.match(text, /Signature Algorithm: ecdsa-with-SHA256/);
  });

  test('Should issue with a generated EC P-256 key whose private key matches', async () => {
    const issued = await ca.issueWithGeneratedKey({ clientId: 'dev-gen', account: 'acme' });
    const cert = new X509Certificate(issued.certPem);
    const key = createPrivateKey(issued.keyPem);
    assert.equal(key.asymmetricKeyType, 'ec');
    assert.equal(key.asymmetricKeyDetails?.namedCurve, 'prime256v1');
    assert.ok(cert.checkPrivateKey(key));
    assert.match(issued.keyPem, /^-----BEGIN PRIVATE KEY-----/);
    assert.ok(cert.verify(issuing.publicKey));
    assert.deepEqual(ca.verifyDeviceCertificate(cert, new Set()), { clientId: 'dev-gen', account: 'acme', serial: issued.serial });
  });

  test('Should give unique serials over 200 issuances', async () => {
    const csr = createCsr({ commonName: 'dev1' });
    const serials = new Set<string>();
    for (let i = 0; i < 200; i++) serials.add((await ca.issueFromCsr(csr.csrPem, device)).serial);
    assert.equal(serials.size, 200);
  });

  test('Should not issue - CSR signature tampered', async () => {
    const csr = createCsr({ commonName: 'dev1' });
    await assert.rejects(ca.issueFromCsr(tamperCsrSignature(csr.csrPem), device), rejectsWith('CSR_INVALID'));
  });

  test('Should not issue - CSR names another device', async () => {
    const csr = createCsr({ commonName: 'dev2' });
    await assert.rejects(ca.issueFromCsr(csr.csrPem, device), rejectsWith('CSR_SUBJECT_MISMATCH'));
  });

  test('Should not issue - garbage instead of a CSR', async () => {
    const garbage: unknown[] = [
      '',
      'hello',
      '-----BEGIN CERTIFICATE REQUEST-----\nAAAA\n-----END CERTIFICATE REQUEST-----\n',
      '-----BEGIN CERTIFICATE REQUEST-----\n!!!!\n-----END CERTIFICATE REQUEST-----\n',
      ca.rootCertificatePem,
      'x'.repeat(100_000),
      undefined,
      42,
    ];
    for (const input of garbage) {
      await assert.rejects(ca.issueFromCsr(input as string, device), rejectsWith('CSR_INVALID'));
    }
  });

  test('Should verify its own device certificate and return who it names', async () => {
    const issued = await ca.issueFromCsr(createCsr({ commonName: 'dev1' }).csrPem, device);
    assert.deepEqual(ca.verifyDeviceCertificate(issued.certPem, new Set(['00ff'])), {
      clientId: 'dev1',
      account: 'acme',
      serial: issued.serial,
    });
  });

  test('Should not verify - certificate of another CA', async () => {
    const other = await openTestCa(await temporaryDirectory());
    const foreign = await other.issueFromCsr(createCsr({ commonName: 'dev1' }).csrPem, device);
    assert.throws(() => ca.verifyDeviceCertificate(foreign.certPem, new Set()), rejectsWith('CERTIFICATE_INVALID'));
    assert.throws(() => ca.verifyDeviceCertificate(ca.serverCredentials.certPem, new Set()), rejectsWith('CERTIFICATE_INVALID'));
    assert.throws(() => ca.verifyDeviceCertificate('not a certificate', new Set()), rejectsWith('CERTIFICATE_INVALID'));
  });

  test('Should not verify - revoked serial', async () => {
    const issued = await ca.issueFromCsr(createCsr({ commonName: 'dev1' }).csrPem, device);
    assert.throws(() => ca.verifyDeviceCertificate(issued.certPem, new Set([issued.serial])), rejectsWith('CERTIFICATE_REVOKED'));
  });

  test('Should sign a CRL that openssl verifies and that lists the revoked serial', { skip: opensslSkip }, async () => {
    const issued = await ca.issueFromCsr(createCsr({ commonName: 'dev1' }).csrPem, device);
    const crlPem = ca.createCrl([{ serial: issued.serial, revokedOn: Date.now() - 60_000 }]);
    const dir = await temporaryDirectory();
    const files = await writePems(dir, { chain: ca.chainPem, crl: crlPem, device: issued.certPem });
    const checked = openssl(['crl', '-in', files.crl, '-CAfile', files.chain, '-verify', '-noout', '-text']);
    assert.equal(checked.status, 0, checked.stderr);
    assert.match(checked.stderr + checked.stdout, /verify OK/);
    assert.match(checked.stdout, new RegExp(`Serial Number: ${issued.serial.toUpperCase()}`));
    assert.match(checked.stdout, /X509v3 CRL Number/);
    assert.match(checked.stdout, /Next Update: /);
    const revoked = openssl(['verify', '-crl_check', '-CAfile', files.chain, '-CRLfile', files.crl, files.device]);
    assert.notEqual(revoked.status, 0);
    assert.match(revoked.stdout + revoked.stderr, /certificate revoked/);
  });

  test('Should sign an empty CRL with growing CRL numbers', { skip: opensslSkip }, () => {
    const number = (pem: string) => /X509v3 CRL Number:\s+(\d+)/.exec(openssl(['crl', '-noout', '-text'], pem).stdout)?.[1];
    const first = number(ca.createCrl([]));
    const second = number(ca.createCrl([]));
    assert.ok(first && second && BigInt(second) > BigInt(first), `${first} < ${second}`);
    assert.match(openssl(['crl', '-noout', '-text'], ca.createCrl([])).stdout, /No Revoked Certificates/);
  });

  test('Should write private keys with mode 0600 in a 0700 directory', async () => {
    const dir = path.join(dataDir, 'ca');
    assert.equal((await stat(dir)).mode & 0o777, 0o700);
    for (const file of [caFileNames.rootKey, caFileNames.issuingKey, caFileNames.serverKey, caFileNames.signingKey]) {
      const info = await stat(path.join(dir, file));
      assert.equal(info.mode & 0o777, 0o600, file);
      assert.match(await readFile(path.join(dir, file), 'utf8'), /^-----BEGIN PRIVATE KEY-----/, `${file} is PKCS#8`);
    }
  });

  test('Should load the same CA when opened again', async () => {
    const again = await openTestCa(dataDir);
    assert.equal(new X509Certificate(again.rootCertificatePem).fingerprint256, root.fingerprint256);
    assert.equal(again.issuingCertificatePem, ca.issuingCertificatePem);
    assert.equal(again.serverCredentials.certPem, ca.serverCredentials.certPem, 'server certificate kept');
    assert.equal(again.signingCredentials.certPem, ca.signingCredentials.certPem, 'signing certificate kept');
    const issued = await again.issueFromCsr(createCsr({ commonName: 'dev1' }).csrPem, device);
    assert.equal(ca.verifyDeviceCertificate(issued.certPem, new Set()).clientId, 'dev1');
  });

  test('Should give a message-signing certificate whose key signs verifiably', () => {
    const cert = new X509Certificate(ca.signingCredentials.certPem);
    assert.match(cert.subject, /CN=provisio message signing/);
    assert.ok(cert.verify(issuing.publicKey));
    const message = Buffer.from('{"hello":"device"}');
    const signature = sign('sha256', message, createPrivateKey(ca.signingCredentials.keyPem));
    assert.ok(verify('sha256', message, cert.publicKey, signature));
  });

  test('Should give the server certificate localhost, loopback and configured names', () => {
    const cert = new X509Certificate(ca.serverCredentials.certPem);
    assert.ok(cert.checkIssued(issuing));
    assert.equal(cert.checkHost('localhost'), 'localhost');
    assert.equal(cert.checkHost('provisio.example.test'), 'provisio.example.test');
    assert.equal(cert.checkIP('127.0.0.1'), '127.0.0.1');
    assert.equal(cert.checkIP('::1'), '::1');
    assert.deepEqual(cert.keyUsage, ['1.3.6.1.5.5.7.3.1']);
    assert.ok(ca.serverCredentials.certPem.endsWith(ca.issuingCertificatePem), 'server chain includes the issuing CA');
  });

  test('Should serve TLS that a client trusting only the root accepts', async () => {
    const server = tls.createServer({ cert: ca.serverCredentials.certPem, key: ca.serverCredentials.keyPem }, (socket) => {
      socket.end('hello');
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    try {
      const { port } = server.address() as { port: number };
      const received = await new Promise<string>((resolve, reject) => {
        const socket = tls.connect({ host: '127.0.0.1', port, servername: 'localhost', ca: ca.rootCertificatePem }, () => {
          assert.ok(socket.authorized, String(socket.authorizationError));
        });
        let data = '';
        socket.setEncoding('utf8');
        socket.on('data', (chunk) => (data += chunk));
        socket.on('end', () => resolve(data));
        socket.on('error', reject);
      });
      assert.equal(received, 'hello');
    } finally {
      await new Promise((resolve) => server.close(resolve));
    }
  });

  test('Should accept a device in mutual TLS and identify it from its certificate', async () => {
    const issued = await ca.issueWithGeneratedKey({ clientId: 'dev-mtls', account: 'acme' });
    const server = tls.createServer({
      cert: ca.serverCredentials.certPem,
      key: ca.serverCredentials.keyPem,
      ca: ca.chainPem,
      requestCert: true,
      rejectUnauthorized: true,
    });
    const identified = new Promise<unknown>((resolve) => {
      server.on('secureConnection', (socket) => {
        const peer = socket.getPeerX509Certificate();
        resolve(peer && ca.verifyDeviceCertificate(peer, new Set()));
        socket.end();
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    try {
      const { port } = server.address() as { port: number };
      const socket = tls.connect({
        host: '127.0.0.1',
        port,
        servername: 'localhost',
        ca: ca.rootCertificatePem,
        cert: issued.certPem,
        key: issued.keyPem,
      });
      socket.on('error', () => undefined);
      socket.resume();
      assert.deepEqual(await identified, { clientId: 'dev-mtls', account: 'acme', serial: issued.serial });
      socket.destroy();
    } finally {
      await new Promise((resolve) => server.close(resolve));
    }
  });
});
