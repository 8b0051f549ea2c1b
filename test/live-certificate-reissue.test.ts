import assert from 'node:assert/strict';
import { X509Certificate } from 'node:crypto';
import { connect } from 'node:tls';
import { after, before, describe, it } from 'node:test';
import type { MqttClient } from 'mqtt';
import { ChainVerifier } from '../protocol/chain-verifier.ts';
import { decodeReplyStatement } from '../protocol/messages.ts';
import { decodeRenewNow, renewNowTopic } from '../protocol/renewal.ts';
import { isMessageSigningCertificate, verifyBodySignature } from '../protocol/signing.ts';
import { startTestPlatform, type TestPlatform } from './support/platform-fixture.ts';
import { onlineSimulatedDevice } from './support/simulated-device.ts';

/**
 * Reissue while running (docs/OPERATIONS.md, "The message-signing and server certificates"):
 * with PROVISIO_PLATFORM_CERT_RENEWAL_DAYS longer than the certificates' 730 days, every check
 * (each second here) finds them due, reissues them and swaps them in place. What a user sees: a
 * new TLS connection gets a server certificate with a new serial, a device connected before stays
 * connected, and the next signed command carries a new signing certificate that verifies.
 */

const serverMarker = 'server certificate replaced while running';
const signingMarker = 'message-signing certificate replaced while running';

/** The serial of the server certificate a new TLS connection to `port` is shown (checked against the root). */
function serverSerialAt(port: number, rootPem: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = connect({ host: '127.0.0.1', port, servername: 'localhost', ca: rootPem }, () => {
      const serial = socket.getPeerCertificate().serialNumber;
      socket.destroy();
      resolve(serial);
    });
    socket.once('error', reject);
  });
}

describe('server and signing certificates reissued while the platform runs', () => {
  let fixture: TestPlatform;
  let client: MqttClient;

  before(async () => {
    fixture = await startTestPlatform({ platformCertRenewalDays: 3650, platformCertCheckIntervalSeconds: 1 });
    client = (await onlineSimulatedDevice(fixture, 'lr-d1', 'lr-acme')).client;
  });
  after(async () => {
    await client?.endAsync(true);
    await fixture?.close();
  });

  it('Should show new TLS connections the new server certificate, keep open ones, and sign the next command with the new signing certificate', async () => {
    const markers = (marker: string): number => fixture.logText().split(marker).length - 1;
    const serverBefore = await serverSerialAt(fixture.platform.provisionBroker.mqttsPort, fixture.rootPem);
    const signingBefore = new X509Certificate(fixture.platform.ca.signingCredentials.certPem).serialNumber;
    const seen = { server: markers(serverMarker), signing: markers(signingMarker) };
    // The marker: the next check's log lines (bounded wait).
    for (let attempt = 0; markers(serverMarker) <= seen.server || markers(signingMarker) <= seen.signing; attempt += 1) {
      assert.ok(attempt < 300, 'no reissue logged within 15 s');
      await new Promise((resolve) => setTimeout(resolve, 50));
    }

    const serverAfter = await serverSerialAt(fixture.platform.provisionBroker.mqttsPort, fixture.rootPem);
    assert.notEqual(serverAfter, serverBefore, 'a new TLS connection sees the reissued server certificate');
    assert.equal(client.connected, true, 'the account-broker connection opened before the reissue is still up');

    // A renew-now command on that same connection: signed with the new signing certificate.
    const topic = renewNowTopic('lr-acme', 'lr-d1');
    const received = new Promise<Buffer>((resolve) => {
      client.on('message', (receivedTopic, payload) => {
        if (receivedTopic === topic) resolve(payload);
      });
    });
    await client.subscribeAsync(topic, { qos: 1 });
    const answer = await fixture.api<{ devicesTold: number }>('POST', '/certificate-renewals', { clientId: 'lr-d1', withinSeconds: 3600 });
    assert.equal(answer.status, 202, JSON.stringify(answer.body));
    assert.equal(answer.body.devicesTold, 1);
    const command = decodeRenewNow(await received);
    const statement = decodeReplyStatement(command.body);
    const signer = new X509Certificate(statement.certificates.signing);
    assert.notEqual(signer.serialNumber, signingBefore, 'signed with the reissued signing certificate');
    assert.deepEqual(new ChainVerifier().check(signer, statement.certificates.chain, fixture.rootPem), { ok: true }, 'signer chains to the root');
    assert.ok(isMessageSigningCertificate(signer));
    assert.ok(verifyBodySignature(command.body, command.signature, command.signatureAlgorithm, signer), 'signature verifies');
    assert.equal(client.connected, true, 'still connected after the command');
  });
});
