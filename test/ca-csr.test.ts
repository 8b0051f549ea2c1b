import assert from 'node:assert/strict';
import { X509Certificate, createPublicKey, generateKeyPairSync, randomInt } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import type { CertificateAuthority } from '../certs/certificate-authority.ts';
import { PlatformError } from '../errors/platform-error.ts';
import { createCsr } from '../dev-support/csr.ts';
import { openTestCa, openssl, opensslSkip, removeTemporaryDirectories, temporaryDirectory } from './support/ca-test-kit.ts';

function failsWith(code: string): (error: unknown) => boolean {
  return (error: unknown) => {
    assert.ok(error instanceof PlatformError, `expected a PlatformError, got ${String(error)}`);
    assert.equal(error.code, code, error.message);
    return true;
  };
}

function derOf(csrPem: string): Buffer {
  return Buffer.from(csrPem.replace(/-----[A-Z ]+-----/g, '').replace(/\s+/g, ''), 'base64');
}

function pemOf(der: Buffer): string {
  const lines = der.toString('base64').match(/.{1,64}/g) ?? [];
  return `-----BEGIN CERTIFICATE REQUEST-----\n${lines.join('\n')}\n-----END CERTIFICATE REQUEST-----\n`;
}

/** A CSR made by openssl itself, with the given key options and subject. */
async function opensslCsr(keyArgs: readonly string[], subject: string): Promise<string> {
  const dir = await temporaryDirectory();
  const result = openssl(['req', '-new', ...keyArgs, '-nodes', '-keyout', path.join(dir, 'key.pem'), '-subj', subject, '-out', path.join(dir, 'csr.pem')]);
  assert.equal(result.status, 0, result.stderr);
  return readFile(path.join(dir, 'csr.pem'), 'utf8');
}

const device = { clientId: 'dev1', account: 'acme' };

describe('certificate signing requests', () => {
  let ca: CertificateAuthority;

  before(async () => {
    ca = await openTestCa(await temporaryDirectory());
  });
  after(removeTemporaryDirectories);

  test('Should accept an EC P-256 CSR made by openssl', { skip: opensslSkip }, async () => {
    const csrPem = await opensslCsr(['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-addext', 'basicConstraints=critical,CA:TRUE'], '/CN=dev1');
    const issued = await ca.issueFromCsr(csrPem, device);
    const cert = new X509Certificate(issued.certPem);
    assert.equal(cert.ca, false, 'extensions the CSR asks for are ignored');
    assert.match(cert.subject, /CN=dev1/);
  });

  test('Should accept an EC P-384 CSR made by openssl', { skip: opensslSkip }, async () => {
    const csrPem = await opensslCsr(['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-384', '-sha384'], '/CN=dev1');
    const cert = new X509Certificate((await ca.issueFromCsr(csrPem, device)).certPem);
    assert.equal(cert.publicKey.asymmetricKeyDetails?.namedCurve, 'secp384r1');
  });

  test('Should accept an RSA-2048 CSR and a CSR with text around the PEM block', async () => {
    const csr = createCsr({ commonName: 'dev1', keyAlgorithm: 'rsa' });
    const issued = await ca.issueFromCsr(`Request for dev1\n${csr.csrPem.replaceAll('CERTIFICATE REQUEST', 'NEW CERTIFICATE REQUEST')}trailer\n`, device);
    assert.ok(new X509Certificate(issued.certPem).publicKey.equals(createPublicKey(csr.privateKey)));
  });

  test('Should not issue - RSA key shorter than 2048 bits', async () => {
    const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 1024 });
    await assert.rejects(ca.issueFromCsr(createCsr({ commonName: 'dev1', privateKey }).csrPem, device), failsWith('CSR_INVALID'));
  });

  test('Should not issue - EC curve other than P-256 or P-384', async () => {
    const { privateKey } = generateKeyPairSync('ec', { namedCurve: 'P-521' });
    await assert.rejects(ca.issueFromCsr(createCsr({ commonName: 'dev1', privateKey }).csrPem, device), failsWith('CSR_INVALID'));
    const secp256k1 = generateKeyPairSync('ec', { namedCurve: 'secp256k1' }).privateKey;
    await assert.rejects(ca.issueFromCsr(createCsr({ commonName: 'dev1', privateKey: secp256k1 }).csrPem, device), failsWith('CSR_INVALID'));
  });

  test('Should not issue - Ed25519 key', { skip: opensslSkip }, async () => {
    const csrPem = await opensslCsr(['-newkey', 'ed25519'], '/CN=dev1');
    await assert.rejects(ca.issueFromCsr(csrPem, device), failsWith('CSR_INVALID'));
  });

  test('Should not issue - subject without CN', { skip: opensslSkip }, async () => {
    const csrPem = await opensslCsr(['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256'], '/O=acme');
    await assert.rejects(ca.issueFromCsr(csrPem, device), failsWith('CSR_SUBJECT_MISMATCH'));
  });

  test('Should not issue - CN differs only in case', async () => {
    await assert.rejects(ca.issueFromCsr(createCsr({ commonName: 'DEV1' }).csrPem, device), failsWith('CSR_SUBJECT_MISMATCH'));
  });

  test('Should not issue - truncated or padded DER', async () => {
    const der = derOf(createCsr({ commonName: 'dev1' }).csrPem);
    for (const broken of [der.subarray(0, der.length - 1), der.subarray(0, 40), Buffer.concat([der, Buffer.of(0)])]) {
      await assert.rejects(ca.issueFromCsr(pemOf(broken), device), failsWith('CSR_INVALID'));
    }
  });

  test('Should refuse every one-byte corruption of a CSR with CSR_INVALID only', async () => {
    for (const keyAlgorithm of ['ec', 'rsa'] as const) {
      const der = derOf(createCsr({ commonName: 'dev1', keyAlgorithm }).csrPem);
      const corruptions: Array<[number, (byte: number) => number]> = [];
      for (let index = 0; index < der.length; index++) {
        corruptions.push([index, (byte) => byte ^ 0x20]); // primitive <-> constructed
        corruptions.push([index, (byte) => (byte + 1 + randomInt(255)) & 0xff]);
      }
      for (const [index, corrupt] of corruptions) {
        const broken = Buffer.from(der);
        broken[index] = corrupt(broken[index] as number);
        await assert.rejects(ca.issueFromCsr(pemOf(broken), device), failsWith('CSR_INVALID'), `${keyAlgorithm} byte ${index}`);
      }
    }
  });

  test('Should not issue - empty clientId or account', async () => {
    const csrPem = createCsr({ commonName: 'dev1' }).csrPem;
    await assert.rejects(ca.issueFromCsr(csrPem, { clientId: '', account: 'acme' }), failsWith('VALIDATION_FAILED'));
    await assert.rejects(ca.issueWithGeneratedKey({ clientId: 'dev1', account: '' }), failsWith('VALIDATION_FAILED'));
  });

  test('Should keep non-ASCII client ids and accounts in the subject', async () => {
    const identity = { clientId: 'capteur-é✓', account: 'Société' };
    const issued = await ca.issueFromCsr(createCsr({ commonName: identity.clientId }).csrPem, identity);
    assert.deepEqual(ca.verifyDeviceCertificate(issued.certPem, new Set()), { ...identity, serial: issued.serial });
  });
});
