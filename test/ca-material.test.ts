import assert from 'node:assert/strict';
import { X509Certificate } from 'node:crypto';
import { chmod, mkdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { after, describe, test } from 'node:test';
import { createCa, issueIntermediate } from '../certs/ca-commands.ts';
import { caFileNames, certificateAuthorityOptions, type OperatorCaFiles } from '../certs/certificate-authority.ts';
import { loadConfig } from '../config/config.ts';
import { PlatformError } from '../errors/platform-error.ts';
import { isMessageSigningCertificate } from '../protocol/signing.ts';
import { createCsr } from '../dev-support/csr.ts';
import { openTestCa, openssl, opensslSkip, removeTemporaryDirectories, silentLog, temporaryDirectory, writePems } from './support/ca-test-kit.ts';

function failsWith(code: string, detail?: RegExp): (error: unknown) => boolean {
  return (error: unknown) => {
    assert.ok(error instanceof PlatformError, `expected a PlatformError, got ${String(error)}`);
    assert.equal(error.code, code, error.message);
    if (detail) assert.match(error.detail ?? '', detail);
    return true;
  };
}

/** Operator files taken from another generated CA (node only). */
async function operatorFilesFromGeneratedCa(): Promise<OperatorCaFiles> {
  const dir = path.join(await temporaryDirectory(), 'ca');
  await openTestCa(path.dirname(dir));
  return {
    rootCertFile: path.join(dir, caFileNames.rootCert),
    issuingCertFile: path.join(dir, caFileNames.issuingCert),
    issuingKeyFile: path.join(dir, caFileNames.issuingKey),
  };
}

/** An operator CA made by openssl: EC P-384 root, RSA-2048 issuing CA. */
async function operatorFilesFromOpenssl(): Promise<OperatorCaFiles & { dir: string }> {
  const dir = await temporaryDirectory();
  const file = (name: string) => path.join(dir, name);
  await writeFile(
    file('ext.cnf'),
    '[v3]\nbasicConstraints=critical,CA:TRUE,pathlen:0\nkeyUsage=critical,keyCertSign,cRLSign\nsubjectKeyIdentifier=hash\nauthorityKeyIdentifier=keyid\n',
  );
  const steps = [
    [
      'req',
      '-x509',
      '-newkey',
      'ec',
      '-pkeyopt',
      'ec_paramgen_curve:P-384',
      '-nodes',
      '-keyout',
      file('root.key'),
      '-out',
      file('root.pem'),
      '-days',
      '3650',
      '-subj',
      '/O=Operator/CN=Operator Root',
      '-addext',
      'basicConstraints=critical,CA:TRUE',
      '-addext',
      'keyUsage=critical,keyCertSign,cRLSign',
    ],
    ['req', '-new', '-newkey', 'rsa:2048', '-nodes', '-keyout', file('issuing.key'), '-out', file('issuing.csr'), '-subj', '/O=Operator/CN=Operator Issuing'],
    [
      'x509',
      '-req',
      '-in',
      file('issuing.csr'),
      '-CA',
      file('root.pem'),
      '-CAkey',
      file('root.key'),
      '-CAcreateserial',
      '-days',
      '1825',
      '-extfile',
      file('ext.cnf'),
      '-extensions',
      'v3',
      '-out',
      file('issuing.pem'),
    ],
  ];
  for (const args of steps) {
    const result = openssl(args);
    assert.equal(result.status, 0, result.stderr);
  }
  return { dir, rootCertFile: file('root.pem'), issuingCertFile: file('issuing.pem'), issuingKeyFile: file('issuing.key') };
}

const device = { clientId: 'dev1', account: 'acme' };

describe('CA material on disk', () => {
  after(removeTemporaryDirectories);

  test('Should use an operator CA made by openssl (P-384 root, RSA issuing CA)', { skip: opensslSkip }, async () => {
    const operator = await operatorFilesFromOpenssl();
    const dataDir = await temporaryDirectory();
    const ca = await openTestCa(dataDir, { operatorCa: operator });
    assert.ok(ca.operatorSupplied);
    assert.equal(new X509Certificate(ca.rootCertificatePem).fingerprint256, new X509Certificate(await readFile(operator.rootCertFile)).fingerprint256);
    const issued = await ca.issueFromCsr(createCsr({ commonName: 'dev1' }).csrPem, device);
    const files = await writePems(operator.dir, {
      device: issued.certPem,
      server: ca.serverCredentials.certPem.split(/(?<=-----END CERTIFICATE-----\n)/)[0] as string,
      crl: ca.createCrl([{ serial: issued.serial, revokedOn: Date.now() }]),
      chain: ca.chainPem,
    });
    for (const [leaf, purpose] of [
      [files.device, 'sslclient'],
      [files.server, 'sslserver'],
    ] as const) {
      const verified = openssl(['verify', '-purpose', purpose, '-CAfile', operator.rootCertFile, '-untrusted', operator.issuingCertFile, leaf]);
      assert.equal(verified.status, 0, verified.stderr + verified.stdout);
    }
    assert.match(openssl(['x509', '-noout', '-text', '-in', files.device]).stdout, /Signature Algorithm: sha256WithRSAEncryption/);
    const crl = openssl(['crl', '-in', files.crl, '-CAfile', files.chain, '-verify', '-noout']);
    assert.equal(crl.status, 0, crl.stderr);
    assert.equal(ca.verifyDeviceCertificate(issued.certPem, new Set()).clientId, 'dev1');
    // The operator's keys stay where they are; only server and signing material is written.
    await assert.rejects(stat(path.join(dataDir, 'ca', caFileNames.rootKey)));
    await assert.rejects(stat(path.join(dataDir, 'ca', caFileNames.issuingKey)));
    assert.equal((await stat(path.join(dataDir, 'ca', caFileNames.serverKey))).mode & 0o777, 0o600);
  });

  test('Should use operator CA files, and reissue the server certificate when switching to them', async () => {
    const dataDir = await temporaryDirectory();
    const generated = await openTestCa(dataDir);
    const operator = await operatorFilesFromGeneratedCa();
    const ca = await openTestCa(dataDir, { operatorCa: operator });
    assert.equal(ca.rootCertificatePem, await readFile(operator.rootCertFile, 'utf8'));
    assert.notEqual(ca.serverCredentials.certPem, generated.serverCredentials.certPem);
    const server = new X509Certificate(ca.serverCredentials.certPem);
    assert.ok(server.checkIssued(new X509Certificate(ca.issuingCertificatePem)));
    const issued = await ca.issueWithGeneratedKey(device);
    assert.throws(() => generated.verifyDeviceCertificate(issued.certPem, new Set()), failsWith('CERTIFICATE_INVALID'));
    assert.equal(ca.verifyDeviceCertificate(issued.certPem, new Set()).clientId, 'dev1');
  });

  test('Should not open - operator issuing key does not match its certificate', async () => {
    const operator = await operatorFilesFromGeneratedCa();
    const other = await operatorFilesFromGeneratedCa();
    await assert.rejects(
      openTestCa(await temporaryDirectory(), { operatorCa: { ...operator, issuingKeyFile: other.issuingKeyFile } }),
      failsWith('CA_MATERIAL_INVALID', /is not the private key of/),
    );
  });

  test('Should not open - operator issuing CA not signed by the operator root', async () => {
    const operator = await operatorFilesFromGeneratedCa();
    const other = await operatorFilesFromGeneratedCa();
    await assert.rejects(
      openTestCa(await temporaryDirectory(), { operatorCa: { ...operator, rootCertFile: other.rootCertFile } }),
      failsWith('CA_MATERIAL_INVALID', /is not signed by/),
    );
  });

  test('Should not open - operator file missing or not PEM', async () => {
    const operator = await operatorFilesFromGeneratedCa();
    const missing = path.join(path.dirname(operator.rootCertFile), 'nope.pem');
    await assert.rejects(
      openTestCa(await temporaryDirectory(), { operatorCa: { ...operator, rootCertFile: missing } }),
      failsWith('CA_MATERIAL_INVALID', /nope\.pem does not exist/),
    );
    await writeFile(operator.issuingKeyFile, 'not a key');
    await assert.rejects(
      openTestCa(await temporaryDirectory(), { operatorCa: operator }),
      failsWith('CA_MATERIAL_INVALID', new RegExp(`${caFileNames.issuingKey} does not hold a readable PEM private key`)),
    );
  });

  test('Should not open - corrupt generated CA file, naming it', async () => {
    const dataDir = await temporaryDirectory();
    await openTestCa(dataDir);
    await writeFile(path.join(dataDir, 'ca', caFileNames.issuingCert), '-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n');
    await assert.rejects(openTestCa(dataDir), failsWith('CA_MATERIAL_INVALID', new RegExp(caFileNames.issuingCert)));
  });

  test('Should open without the root key, which the running platform never needs', async () => {
    const dataDir = await temporaryDirectory();
    const first = await openTestCa(dataDir);
    await rm(path.join(dataDir, 'ca', caFileNames.rootKey));
    const again = await openTestCa(dataDir);
    assert.equal(again.rootCertificatePem, first.rootCertificatePem);
    assert.equal(again.issuingCertificatePem, first.issuingCertificatePem);
  });

  test('Should not open - issuing CA missing, naming the command that makes one', async () => {
    const dataDir = await temporaryDirectory();
    await openTestCa(dataDir);
    await rm(path.join(dataDir, 'ca', caFileNames.issuingKey));
    await assert.rejects(openTestCa(dataDir), failsWith('CA_MATERIAL_INVALID', /issuing-ca\.key\.pem is missing.*npm run ca -- issue-intermediate/));
  });

  test('Should create the CA when only a key of an interrupted creation is left', async () => {
    const dataDir = await temporaryDirectory();
    await mkdir(path.join(dataDir, 'ca', 'offline'), { recursive: true });
    await writeFile(path.join(dataDir, 'ca', caFileNames.rootKey), 'half-written');
    await writeFile(path.join(dataDir, 'ca', caFileNames.issuingKey), 'half-written');
    const ca = await openTestCa(dataDir);
    assert.ok(new X509Certificate(ca.rootCertificatePem).ca);
  });

  test('Should not create a new CA over an issuing CA whose root certificate is gone', async () => {
    const dataDir = await temporaryDirectory();
    await openTestCa(dataDir);
    await rm(path.join(dataDir, 'ca', caFileNames.rootCert));
    await assert.rejects(openTestCa(dataDir), failsWith('CA_MATERIAL_INVALID', /root-ca\.cert\.pem is missing but an issuing CA exists/));
  });

  test('Should not open - data directory is not a directory', async () => {
    const file = path.join(await temporaryDirectory(), 'a-file');
    await writeFile(file, 'x');
    await assert.rejects(openTestCa(file), failsWith('DATA_DIR_UNUSABLE'));
  });

  test('Should not open - data directory is read-only', { skip: process.getuid?.() === 0 ? 'root ignores file modes' : false }, async () => {
    const dataDir = await temporaryDirectory();
    await chmod(dataDir, 0o500);
    await assert.rejects(openTestCa(dataDir), failsWith('DATA_DIR_UNUSABLE'));
  });

  test('Should reissue the server certificate when the host names change, and only then', async () => {
    const dataDir = await temporaryDirectory();
    const first = await openTestCa(dataDir, { hostnames: ['a.example.test'] });
    const same = await openTestCa(dataDir, { hostnames: ['a.example.test'] });
    assert.equal(same.serverCredentials.certPem, first.serverCredentials.certPem);
    const changed = await openTestCa(dataDir, { hostnames: ['b.example.test', '192.0.2.7'] });
    assert.notEqual(changed.serverCredentials.certPem, first.serverCredentials.certPem);
    assert.equal(changed.rootCertificatePem, first.rootCertificatePem, 'the CA itself is kept');
    assert.equal(changed.signingCredentials.certPem, first.signingCredentials.certPem, 'signing certificate kept');
    const server = new X509Certificate(changed.serverCredentials.certPem);
    assert.equal(server.checkHost('b.example.test'), 'b.example.test');
    assert.equal(server.checkHost('a.example.test'), undefined);
    assert.equal(server.checkIP('192.0.2.7'), '192.0.2.7');
    assert.equal(server.checkHost('localhost'), 'localhost');
  });

  test('Should reissue a signing certificate of an earlier version, which lacks the message-signing purpose', { skip: opensslSkip }, async () => {
    const dataDir = await temporaryDirectory();
    const first = await openTestCa(dataDir);
    assert.ok(isMessageSigningCertificate(new X509Certificate(first.signingCredentials.certPem)));
    // The signing profile of revision 1: CA:false, digitalSignature, no extended key usage.
    const caDir = path.join(dataDir, 'ca');
    const work = await temporaryDirectory();
    const file = (name: string) => path.join(work, name);
    await writeFile(file('ext.cnf'), '[v1]\nbasicConstraints=CA:FALSE\nkeyUsage=critical,digitalSignature\n');
    for (const args of [
      ['ecparam', '-name', 'prime256v1', '-genkey', '-noout', '-out', file('old.key')],
      ['pkcs8', '-topk8', '-nocrypt', '-in', file('old.key'), '-out', file('old.pk8')],
      ['req', '-new', '-key', file('old.pk8'), '-subj', '/O=provisio/CN=provisio message signing', '-out', file('old.csr')],
      [
        'x509',
        '-req',
        '-in',
        file('old.csr'),
        '-CA',
        path.join(caDir, caFileNames.issuingCert),
        '-CAkey',
        path.join(caDir, caFileNames.issuingKey),
        '-set_serial',
        '4242',
        '-days',
        '300',
        '-extfile',
        file('ext.cnf'),
        '-extensions',
        'v1',
        '-out',
        file('old.pem'),
      ],
    ]) {
      const result = openssl(args);
      assert.equal(result.status, 0, result.stderr);
    }
    const oldPem = await readFile(file('old.pem'), 'utf8');
    assert.equal(isMessageSigningCertificate(new X509Certificate(oldPem)), false);
    await writeFile(path.join(caDir, caFileNames.signingCert), oldPem);
    await writeFile(path.join(caDir, caFileNames.signingKey), await readFile(file('old.pk8'), 'utf8'));
    const reopened = await openTestCa(dataDir);
    assert.notEqual(reopened.signingCredentials.certPem, oldPem, 'the old signing certificate was replaced');
    assert.ok(isMessageSigningCertificate(new X509Certificate(reopened.signingCredentials.certPem)));
    assert.equal(reopened.rootCertificatePem, first.rootCertificatePem, 'the CA itself is kept');
    const again = await openTestCa(dataDir);
    assert.equal(again.signingCredentials.certPem, reopened.signingCredentials.certPem, 'and then kept');
  });

  test('Should trust an earlier issuing CA in ca/retired/ for its devices, when the root signed it', async () => {
    const operatorDir = await temporaryDirectory();
    await createCa({ dataDir: operatorDir, keyAlgorithm: 'ec', log: silentLog });
    const operatorCa = {
      rootCertFile: path.join(operatorDir, 'ca', caFileNames.rootCert),
      issuingCertFile: path.join(operatorDir, 'ca', caFileNames.issuingCert),
      issuingKeyFile: path.join(operatorDir, 'ca', caFileNames.issuingKey),
    };
    const dataDir = await temporaryDirectory();
    const before = await openTestCa(dataDir, { operatorCa });
    const issuedBefore = await before.issueWithGeneratedKey(device);
    // The operator rolls the issuing CA over with their tools and copies the old certificate to ca/retired/.
    await issueIntermediate({ dataDir: operatorDir, keyAlgorithm: 'ec', log: silentLog });
    await mkdir(path.join(dataDir, 'ca', 'retired'), { recursive: true });
    await writeFile(path.join(dataDir, 'ca', 'retired', 'old-issuing.cert.pem'), before.issuingCertificatePem);
    // A CA certificate of another root put there is not trusted.
    const foreign = await temporaryDirectory();
    await createCa({ dataDir: foreign, keyAlgorithm: 'ec', log: silentLog });
    await writeFile(path.join(dataDir, 'ca', 'retired', 'foreign.cert.pem'), await readFile(path.join(foreign, 'ca', caFileNames.issuingCert)));
    const after = await openTestCa(dataDir, { operatorCa });
    assert.notEqual(after.issuingCertificatePem, before.issuingCertificatePem);
    assert.deepEqual(after.clientCaPems, [after.issuingCertificatePem, before.issuingCertificatePem, after.rootCertificatePem]);
    assert.ok(new X509Certificate(issuedBefore.certPem).checkIssued(new X509Certificate(after.clientCaPems[1] as string)));
  });

  test('Should take the CA options from the platform configuration', () => {
    const config = loadConfig({}, { dataDir: '/srv/provisio', certKeyAlgorithm: 'rsa', publicHostnames: ['mqtt.example.test'], deviceCertValidityDays: 90 });
    const options = certificateAuthorityOptions(config, silentLog);
    assert.deepEqual(
      { ...options, log: undefined },
      { dataDir: '/srv/provisio', keyAlgorithm: 'rsa', hostnames: ['mqtt.example.test'], deviceValidityDays: 90, leafRenewalDays: 60, log: undefined },
    );
    const operator = { caRootCertFile: '/etc/r.pem', caIssuingCertFile: '/etc/i.pem', caIssuingKeyFile: '/etc/i.key' };
    assert.deepEqual(certificateAuthorityOptions(loadConfig({}, operator), silentLog).operatorCa, {
      rootCertFile: '/etc/r.pem',
      issuingCertFile: '/etc/i.pem',
      issuingKeyFile: '/etc/i.key',
    });
  });
});
