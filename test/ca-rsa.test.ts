import assert from 'node:assert/strict';
import { X509Certificate, createPrivateKey } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import tls from 'node:tls';
import { caFileNames, type CertificateAuthority } from '../certs/certificate-authority.ts';
import { createCsr } from '../dev-support/csr.ts';
import { openTestCa, openssl, opensslSkip, removeTemporaryDirectories, temporaryDirectory, writePems } from './support/ca-test-kit.ts';

const device = { clientId: 'dev1', account: 'acme' };

describe('certificate authority with RSA keys (certKeyAlgorithm = rsa)', () => {
  let dataDir: string;
  let ca: CertificateAuthority;

  before(async () => {
    dataDir = await temporaryDirectory();
    ca = await openTestCa(dataDir, { keyAlgorithm: 'rsa' });
  });
  after(removeTemporaryDirectories);

  test('Should make RSA-2048 CA, server and signing keys', async () => {
    for (const file of [caFileNames.rootKey, caFileNames.issuingKey, caFileNames.serverKey, caFileNames.signingKey]) {
      const key = createPrivateKey(await readFile(path.join(dataDir, 'ca', file), 'utf8'));
      assert.equal(key.asymmetricKeyType, 'rsa', file);
      assert.equal(key.asymmetricKeyDetails?.modulusLength, 2048, file);
    }
  });

  test('Should issue from an RSA CSR with sha256WithRSAEncryption', { skip: opensslSkip }, async () => {
    const issued = await ca.issueFromCsr(createCsr({ commonName: 'dev1', keyAlgorithm: 'rsa' }).csrPem, device);
    const dir = await temporaryDirectory();
    const files = await writePems(dir, { root: ca.rootCertificatePem, issuing: ca.issuingCertificatePem, device: issued.certPem });
    const verified = openssl(['verify', '-purpose', 'sslclient', '-CAfile', files.root, '-untrusted', files.issuing, files.device]);
    assert.equal(verified.status, 0, verified.stderr + verified.stdout);
    const text = openssl(['x509', '-noout', '-text', '-in', files.device]).stdout;
    assert.match(text, /Signature Algorithm: sha256WithRSAEncryption/);
    assert.match(text, /Public-Key: \(2048 bit\)/);
    assert.match(text, /X509v3 Key Usage: critical\s+Digital Signature, Key Encipherment/);
  });

  test('Should issue from an EC CSR and verify it with the RSA issuing CA', async () => {
    const issued = await ca.issueFromCsr(createCsr({ commonName: 'dev1' }).csrPem, device);
    const cert = new X509Certificate(issued.certPem);
    assert.ok(cert.verify(new X509Certificate(ca.issuingCertificatePem).publicKey));
    assert.equal(ca.verifyDeviceCertificate(cert, new Set()).serial, issued.serial);
  });

  test('Should still generate EC P-256 device keys', async () => {
    const issued = await ca.issueWithGeneratedKey(device);
    const key = createPrivateKey(issued.keyPem);
    assert.equal(key.asymmetricKeyType, 'ec');
    assert.ok(new X509Certificate(issued.certPem).checkPrivateKey(key));
  });

  test('Should sign a CRL that openssl verifies', { skip: opensslSkip }, async () => {
    const dir = await temporaryDirectory();
    const files = await writePems(dir, { chain: ca.chainPem, crl: ca.createCrl([{ serial: '0123abcd', revokedOn: Date.now() }]) });
    const checked = openssl(['crl', '-in', files.crl, '-CAfile', files.chain, '-verify', '-noout', '-text']);
    assert.equal(checked.status, 0, checked.stderr);
    assert.match(checked.stdout, /Serial Number: 0123ABCD/);
    assert.match(checked.stdout, /Signature Algorithm: sha256WithRSAEncryption/);
  });

  test('Should serve TLS with the RSA server certificate', async () => {
    const server = tls.createServer({ cert: ca.serverCredentials.certPem, key: ca.serverCredentials.keyPem }, (socket) => socket.end('ok'));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    try {
      const { port } = server.address() as { port: number };
      const authorized = await new Promise<boolean>((resolve, reject) => {
        const socket = tls.connect({ host: '127.0.0.1', port, servername: 'localhost', ca: ca.rootCertificatePem }, () => {
          resolve(socket.authorized);
          socket.destroy();
        });
        socket.on('error', reject);
      });
      assert.ok(authorized);
    } finally {
      await new Promise((resolve) => server.close(resolve));
    }
  });
});
