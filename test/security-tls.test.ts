import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createPublicKey, generateKeyPairSync } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { createConnection } from 'node:net';
import { join } from 'node:path';
import { connect as tlsConnect, type ConnectionOptions } from 'node:tls';
import { loadOrCreateCaMaterial } from '../certs/ca-material.ts';
import { certificateAuthorityOptions } from '../certs/certificate-authority.ts';
import { DeviceIssuer } from '../certs/device-issuer.ts';
import { createLogger } from '../log/logger.ts';
import { freePort } from '../dev-support/ports.ts';
import { startTestPlatform, type TestPlatform } from './support/platform-fixture.ts';
import { connectOutcome, eventually, provisionDevice, type ProvisionedDevice } from './support/security-kit.ts';

/** Whether a TLS handshake with these options completes: the negotiated protocol, or the error code. */
function handshake(port: number, options: ConnectionOptions): Promise<string> {
  return new Promise((resolve) => {
    const socket = tlsConnect({ host: '127.0.0.1', port, servername: 'localhost', ...options });
    const finish = (outcome: string): void => {
      socket.destroy();
      resolve(outcome);
    };
    socket.once('secureConnect', () => finish(socket.getProtocol() ?? 'unknown'));
    socket.once('error', (error: NodeJS.ErrnoException) => finish(error.code ?? error.message));
  });
}

const dayMs = 86_400_000;

describe('TLS on the brokers', () => {
  let fixture: TestPlatform;
  let device: ProvisionedDevice;

  before(async () => {
    fixture = await startTestPlatform();
    device = await provisionDevice(fixture, 'tls-dev');
  });
  after(() => fixture.close());

  /**
   * A certificate from our own issuing CA, for `clientId` in account acme, made at `issuedAt`
   * with `validityDays`; recorded in the store like one the provisioner issued.
   */
  async function certificateFromOurCa(clientId: string, issuedAt: number, validityDays: number): Promise<{ cert: string; key: string }> {
    const material = await loadOrCreateCaMaterial(certificateAuthorityOptions(fixture.config, createLogger('silent')));
    const issuer = new DeviceIssuer({ issuer: material.issuing.issuer, issuerNotAfter: material.issuing.fields.notAfter, validityDays, now: () => issuedAt });
    const { privateKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
    const issued = issuer.issueForPublicKey(createPublicKey(privateKey), { clientId, account: 'acme' });
    await fixture.platform.store.recordCertificate({
      serial: issued.serial,
      accountId: device.request.accountId,
      clientId,
      provisionRequestId: null,
      pem: issued.certPem,
      notBefore: issued.notBefore,
      notAfter: issued.notAfter,
    });
    return { cert: issued.certPem, key: privateKey.export({ type: 'pkcs8', format: 'pem' }).toString() };
  }

  for (const broker of ['provision', 'account'] as const) {
    const port = () => (broker === 'provision' ? fixture.platform.provisionBroker.mqttsPort : fixture.platform.accountBroker.mqttsPort);
    const clientCredentials = () => (broker === 'account' ? { cert: device.certPem, key: device.keyPem } : {});

    it(`${broker} broker: refuses TLS 1.0 and 1.1 and accepts 1.2 and 1.3`, async () => {
      // SECLEVEL=0 lets this client offer the old protocols at all (OpenSSL 3 refuses them by
      // default), so a refusal comes from the server.
      const old = { ca: fixture.rootPem, ciphers: 'DEFAULT@SECLEVEL=0', ...clientCredentials() };
      for (const version of ['TLSv1', 'TLSv1.1'] as const) {
        const outcome = await handshake(port(), { ...old, minVersion: version, maxVersion: version });
        assert.match(outcome, /PROTOCOL_VERSION|UNSUPPORTED_PROTOCOL|WRONG_VERSION|NO_PROTOCOLS/i, `${version}: ${outcome}`);
      }
      assert.equal(await handshake(port(), { ca: fixture.rootPem, minVersion: 'TLSv1.2', maxVersion: 'TLSv1.2', ...clientCredentials() }), 'TLSv1.2');
      assert.equal(await handshake(port(), { ca: fixture.rootPem, minVersion: 'TLSv1.3', ...clientCredentials() }), 'TLSv1.3');
    });

    it(`${broker} broker: refused by openssl s_client -tls1_1`, async (t) => {
      const { skipUnlessInstalled } = await import('./support/external-tools.ts');
      if (skipUnlessInstalled(t, ['openssl'], 'apt-get install -y openssl', 'PROVISIO_TEST_REQUIRE_TOOLS')) return;
      // Asynchronously: the brokers run in this very process and must keep answering.
      const { execFile } = await import('node:child_process');
      const result = await new Promise<{ status: number; stdout: string; stderr: string }>((resolve) => {
        const child = execFile(
          'openssl',
          ['s_client', '-connect', `127.0.0.1:${port()}`, '-tls1_1', '-cipher', 'DEFAULT@SECLEVEL=0'],
          { timeout: 20_000 },
          (error, stdout, stderr) => resolve({ status: error ? Number((error as { code?: unknown }).code ?? 1) || 1 : 0, stdout, stderr }),
        );
        child.stdin?.end();
      });
      assert.notEqual(result.status, 0);
      assert.match(`${result.stdout}${result.stderr}`, /protocol version|no protocols available|unsupported protocol/i);
    });
  }

  it('TLS-only mode leaves no plain listener: the configured TCP port is not even open', async () => {
    const port = await freePort();
    const tlsOnly = await startTestPlatform({ provisionMqttEnabled: false, provisionMqttPort: port });
    try {
      assert.equal(tlsOnly.platform.provisionBroker.mqttPort, null);
      const outcome = await new Promise<string>((resolve) => {
        const socket = createConnection({ host: '127.0.0.1', port });
        socket.once('connect', () => {
          socket.destroy();
          resolve('connected');
        });
        socket.once('error', (error: NodeJS.ErrnoException) => resolve(error.code ?? 'error'));
      });
      assert.equal(outcome, 'ECONNREFUSED');
      assert.equal(await connectOutcome(`mqtt://127.0.0.1:${port}`, { clientId: 'x', username: 'u', password: 'p' }), 'refused');
    } finally {
      await tlsOnly.close();
    }
  });

  describe('mutual TLS on the account broker', () => {
    const accountUrl = () => `mqtts://localhost:${fixture.platform.accountBroker.mqttsPort}`;

    it('accepts the certificate the device was issued (the reference point)', async () => {
      assert.equal(await connectOutcome(accountUrl(), { clientId: 'tls-dev', cert: device.certPem, key: device.keyPem, ca: fixture.rootPem }), 'connected');
    });

    it('refuses an expired certificate of our own CA in the handshake, and logs why', async () => {
      const expired = await certificateFromOurCa('tls-expired', Date.now() - 10 * dayMs, 1);
      assert.equal(await connectOutcome(accountUrl(), { clientId: 'tls-expired', ...expired, ca: fixture.rootPem }), 'refused');
      await eventually(
        () => fixture.logText(),
        (text) => /TLS handshake refused[^\n]*expired/.test(text),
        'the refusal is logged with its reason',
      );
    });

    it('refuses a certificate of our own CA that is not valid yet', async () => {
      const future = await certificateFromOurCa('tls-future', Date.now() + 10 * dayMs, 30);
      assert.equal(await connectOutcome(accountUrl(), { clientId: 'tls-future', ...future, ca: fixture.rootPem }), 'refused');
    });

    it('accepts a fresh certificate made the same way (so the two above fail for their dates only)', async () => {
      const fresh = await certificateFromOurCa('tls-fresh', Date.now(), 30);
      assert.equal(await connectOutcome(accountUrl(), { clientId: 'tls-fresh', ...fresh, ca: fixture.rootPem }), 'connected');
    });

    it("refuses a device's valid certificate presented under another clientId (CONNACK 5), and logs why", async () => {
      const outcome = await connectOutcome(accountUrl(), { clientId: 'tls-impostor', cert: device.certPem, key: device.keyPem, ca: fixture.rootPem });
      assert.equal(outcome, 'connack 5');
      await eventually(
        () => fixture.logText(),
        (text) => /tls-impostor[^\n]*CERTIFICATE_INVALID|CERTIFICATE_INVALID[^\n]*tls-impostor/.test(text),
        'the refusal is logged with its code',
      );
    });

    it('refuses a certificate of our CA that the store does not know (CONNACK 5)', async () => {
      const material = await loadOrCreateCaMaterial(certificateAuthorityOptions(fixture.config, createLogger('silent')));
      const issuer = new DeviceIssuer({ issuer: material.issuing.issuer, issuerNotAfter: material.issuing.fields.notAfter, validityDays: 30 });
      const { privateKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
      const issued = issuer.issueForPublicKey(createPublicKey(privateKey), { clientId: 'tls-unrecorded', account: 'acme' });
      const outcome = await connectOutcome(accountUrl(), {
        clientId: 'tls-unrecorded',
        cert: issued.certPem,
        key: privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(),
        ca: fixture.rootPem,
      });
      assert.equal(outcome, 'connack 5');
    });

    it('refuses a revoked certificate (CONNACK 5 CERTIFICATE_REVOKED)', async () => {
      const revoked = await provisionDevice(fixture, 'tls-revoked');
      const serial = (await fixture.platform.store.getDevice(revoked.request.accountId, 'tls-revoked'))?.certificateSerial;
      assert.ok(serial);
      assert.equal((await fixture.api('POST', `/certificates/${serial}/revoke`, { reason: 'keyCompromise' })).status, 200);
      assert.equal(
        await connectOutcome(accountUrl(), { clientId: 'tls-revoked', cert: revoked.certPem, key: revoked.keyPem, ca: fixture.rootPem }),
        'connack 5',
      );
      await eventually(
        () => fixture.logText(),
        (text) => text.includes('CERTIFICATE_REVOKED'),
        'the refusal is logged',
      );
    });

    it("refuses a certificate from another platform's CA, with the same clientId and account", async () => {
      const other = await startTestPlatform();
      try {
        const foreign = await provisionDevice(other, 'tls-foreign');
        assert.equal(
          await connectOutcome(accountUrl(), { clientId: 'tls-foreign', cert: foreign.certPem, key: foreign.keyPem, ca: fixture.rootPem }),
          'refused',
        );
      } finally {
        await other.close();
      }
    });

    it("refuses the platform's own server certificate presented as a client certificate", async () => {
      const dir = join(fixture.config.dataDir, 'ca');
      const [cert, key] = await Promise.all([readFile(join(dir, 'server.cert.pem'), 'utf8'), readFile(join(dir, 'server.key.pem'), 'utf8')]);
      const outcome = await connectOutcome(accountUrl(), { clientId: 'localhost', cert, key, ca: fixture.rootPem });
      assert.notEqual(outcome, 'connected');
    });

    it('refuses a self-signed certificate and no certificate at all', async () => {
      const { privateKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
      const material = await loadOrCreateCaMaterial(certificateAuthorityOptions(fixture.config, createLogger('silent')));
      // Signed by the device's own key under our issuing CA's name: a forgery.
      const forged = new DeviceIssuer({
        issuer: { ...material.issuing.issuer, privateKey } as typeof material.issuing.issuer,
        issuerNotAfter: material.issuing.fields.notAfter,
        validityDays: 30,
      }).issueForPublicKey(createPublicKey(privateKey), { clientId: 'tls-forged', account: 'acme' });
      const key = privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
      assert.equal(await connectOutcome(accountUrl(), { clientId: 'tls-forged', cert: forged.certPem, key, ca: fixture.rootPem }), 'refused');
      assert.equal(await connectOutcome(accountUrl(), { clientId: 'tls-dev', ca: fixture.rootPem }), 'refused');
    });
  });
});
