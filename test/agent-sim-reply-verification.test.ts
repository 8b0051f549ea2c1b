import assert from 'node:assert/strict';
import { createPrivateKey, createPublicKey, type KeyObject } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { makeDeviceKey } from '../agent-sim/provisioning-flow.ts';
import { UntrustedReplyError, verifyProvisionReply } from '../agent-sim/reply-verification.ts';
import type { CertificateAuthority } from '../certs/certificate-authority.ts';
import { configurationHash } from '../protocol/configuration-hash.ts';
import { createCertificateSigningRequest } from '../protocol/csr.ts';
import { decodeReply, encodeProvisionResult, encodeReply, type ProvisionResult, type ReplyMessage } from '../protocol/messages.ts';
import { signBody } from '../protocol/signing.ts';
import { openTestCa, removeTemporaryDirectories, temporaryDirectory } from './support/ca-test-kit.ts';

const clientId = 'verify-device';
const account = 'acme';

/** A provision result as a platform with this CA would send it, for a device certificate. */
function resultFrom(ca: CertificateAuthority, clientCertificate: string, clientKey?: string): ProvisionResult {
  const content = JSON.stringify({ telemetry: { intervalSeconds: 60 } });
  return {
    clientId,
    account,
    issuedOn: Date.now(),
    certificates: {
      client: clientCertificate,
      ...(clientKey ? { clientKey } : {}),
      chain: [ca.issuingCertificatePem, ca.rootCertificatePem],
      signing: ca.signingCredentials.certPem,
    },
    configuration: { content, sha256: configurationHash(content) },
    bundles: [],
    next: { brokerUrl: 'mqtts://localhost:8884', clientId, account, auth: 'client-certificate' },
  };
}

/** The reply as it arrives: body signed with `signer`'s key, encoded and decoded like on the wire. */
function signedReply(result: ProvisionResult, signer: CertificateAuthority, tamper?: (body: Buffer) => void): ReplyMessage {
  const body = encodeProvisionResult(result);
  const { signature, algorithm } = signBody(body, createPrivateKey(signer.signingCredentials.keyPem));
  tamper?.(body);
  return decodeReply(encodeReply({ requestId: 'request-1', responseCode: 200, body, signature, signatureAlgorithm: algorithm }));
}

function refusedWith(pattern: RegExp): (error: unknown) => boolean {
  return (error) => {
    assert.ok(error instanceof UntrustedReplyError, `expected an UntrustedReplyError, got ${String(error)}`);
    assert.match(error.message, pattern);
    return true;
  };
}

describe('agent-sim verifies a provisioning reply (PROTOCOL.md §7)', () => {
  let platform: CertificateAuthority;
  let stranger: CertificateAuthority;
  let deviceKey: KeyObject;
  let deviceCertificate: string;

  before(async () => {
    platform = await openTestCa(await temporaryDirectory());
    stranger = await openTestCa(await temporaryDirectory());
    deviceKey = makeDeviceKey();
    deviceCertificate = (await platform.issueFromCsr(createCertificateSigningRequest(clientId, deviceKey), { clientId, account })).certPem;
  });
  after(removeTemporaryDirectories);

  const verify = (reply: ReplyMessage, root: string, key?: KeyObject): ProvisionResult =>
    verifyProvisionReply(reply, { trustedRootPem: root, caAuthentication: true, clientId, ...(key ? { devicePublicKey: key } : {}) });

  it('Should accept a genuine reply for the device key, private or public, again and again', () => {
    const reply = signedReply(resultFrom(platform, deviceCertificate), platform);
    for (let i = 0; i < 3; i += 1) {
      assert.equal(verify(reply, platform.rootCertificatePem, deviceKey).clientId, clientId);
      assert.equal(verify(reply, platform.rootCertificatePem, createPublicKey(deviceKey)).clientId, clientId);
    }
  });

  it('Should refuse a body changed after it was signed', () => {
    const reply = signedReply(resultFrom(platform, deviceCertificate), platform, (body) => {
      const at = body.indexOf('intervalSeconds') + 1;
      body[at] = body[at]! ^ 0x20; // intervalSeconds → iNtervalSeconds
    });
    assert.throws(() => verify(reply, platform.rootCertificatePem, deviceKey), refusedWith(/signature does not verify/));
  });

  it('Should refuse a reply signed by another platform, even after trusting this one', () => {
    verify(signedReply(resultFrom(platform, deviceCertificate), platform), platform.rootCertificatePem, deviceKey);
    const forged = signedReply(resultFrom(stranger, deviceCertificate), stranger);
    assert.throws(() => verify(forged, platform.rootCertificatePem, deviceKey), refusedWith(/signing certificate not trusted/));
  });

  it('Should refuse a client certificate that does not chain to the root the device holds', async () => {
    const foreign = (await stranger.issueFromCsr(createCertificateSigningRequest(clientId, deviceKey), { clientId, account })).certPem;
    const reply = signedReply(resultFrom(platform, foreign), platform);
    assert.throws(() => verify(reply, platform.rootCertificatePem, deviceKey), refusedWith(/client certificate not trusted/));
  });

  it('Should refuse a certificate for another key than the device’s', () => {
    const reply = signedReply(resultFrom(platform, deviceCertificate), platform);
    assert.throws(() => verify(reply, platform.rootCertificatePem, makeDeviceKey()), refusedWith(/not for the device key/));
  });

  it('Should check a key generated by the platform against its certificate', async () => {
    const generated = await platform.issueWithGeneratedKey({ clientId, account });
    const reply = signedReply(resultFrom(platform, generated.certPem, generated.keyPem), platform);
    assert.equal(verify(reply, platform.rootCertificatePem).clientId, clientId);
    const mismatched = signedReply(resultFrom(platform, deviceCertificate, generated.keyPem), platform);
    assert.throws(() => verify(mismatched, platform.rootCertificatePem), refusedWith(/not for the device key/));
  });
});
