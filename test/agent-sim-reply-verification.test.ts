import assert from 'node:assert/strict';
import { createPrivateKey, createPublicKey, type KeyObject } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { makeDeviceKey } from '../agent-sim/provisioning-flow.ts';
import { trustedTime, UntrustedReplyError, verifyProvisionReply, verifyReplyStatement } from '../agent-sim/reply-verification.ts';
import type { CertificateAuthority } from '../certs/certificate-authority.ts';
import { configurationHash } from '../protocol/configuration-hash.ts';
import { createCertificateSigningRequest } from '../protocol/csr.ts';
import {
  decodeReply,
  encodeProvisionResult,
  encodeReply,
  encodeReplyStatement,
  type ProvisionResult,
  type ReplyMessage,
  type ReplyStatement,
} from '../protocol/messages.ts';
import { isMessageSigningCertificate, signBody } from '../protocol/signing.ts';
import { X509Certificate } from 'node:crypto';
import { openTestCa, removeTemporaryDirectories, temporaryDirectory } from './support/ca-test-kit.ts';

const clientId = 'verify-device';
const account = 'acme';

/** A provision result as a platform with this CA would send it, for a device certificate. */
function resultFrom(ca: CertificateAuthority, clientCertificate: string, clientKey?: string): ProvisionResult {
  const content = JSON.stringify({ telemetry: { intervalSeconds: 60 } });
  return {
    clientId,
    requestId: 'request-1',
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
function signedReply(result: ProvisionResult, signer: CertificateAuthority | { readonly keyPem: string }, tamper?: (body: Buffer) => void): ReplyMessage {
  const body = encodeProvisionResult(result);
  const keyPem = 'keyPem' in signer ? signer.keyPem : signer.signingCredentials.keyPem;
  const { signature, algorithm } = signBody(body, createPrivateKey(keyPem));
  tamper?.(body);
  return decodeReply(encodeReply({ requestId: 'request-1', responseCode: 200, body, signature, signatureAlgorithm: algorithm }));
}

/** An error reply as the platform signs it (PROTOCOL.md §6). */
/** The metrics carry the statement's values unless `rewritten` changes them on the path. */
function signedStatement(
  ca: CertificateAuthority,
  statement: Omit<ReplyStatement, 'certificates'>,
  rewritten: { responseCode?: number; retryAfterSeconds?: number } = {},
): ReplyMessage {
  const body = encodeReplyStatement({
    ...statement,
    certificates: { signing: ca.signingCredentials.certPem, chain: [ca.issuingCertificatePem, ca.rootCertificatePem] },
  });
  const { signature, algorithm } = signBody(body, createPrivateKey(ca.signingCredentials.keyPem));
  const retryAfterSeconds = rewritten.retryAfterSeconds ?? statement.retryAfterSeconds;
  return decodeReply(
    encodeReply({
      requestId: statement.requestId,
      responseCode: rewritten.responseCode ?? statement.responseCode,
      ...(statement.message !== undefined ? { message: statement.message } : {}),
      ...(retryAfterSeconds !== undefined ? { retryAfterSeconds } : {}),
      body,
      signature,
      signatureAlgorithm: algorithm,
    }),
  );
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

  const verify = (reply: ReplyMessage, root: string, key?: KeyObject, requestId = 'request-1'): ProvisionResult =>
    verifyProvisionReply(reply, { trustedRootPem: root, caAuthentication: true, clientId, requestId, ...(key ? { devicePublicKey: key } : {}) });

  it('Should refuse a body signed with another device’s own certificate and key, though it chains to the same root', async () => {
    // The attack of issue 11: a device certificate is CA:false with digitalSignature from the same issuing CA.
    const otherDevice = await platform.issueWithGeneratedKey({ clientId: 'other-device', account });
    const forgedResult = resultFrom(platform, deviceCertificate);
    const forged = signedReply(
      { ...forgedResult, certificates: { ...forgedResult.certificates, signing: otherDevice.certPem } },
      { keyPem: otherDevice.keyPem },
    );
    assert.throws(() => verify(forged, platform.rootCertificatePem, deviceKey), refusedWith(/not the platform message signer/));
    assert.equal(isMessageSigningCertificate(new X509Certificate(otherDevice.certPem)), false);
    assert.equal(isMessageSigningCertificate(new X509Certificate(platform.signingCredentials.certPem)), true);
  });

  it('Should refuse a genuine reply to another request.id or another device (no replay)', () => {
    const reply = signedReply(resultFrom(platform, deviceCertificate), platform);
    assert.throws(() => verify(reply, platform.rootCertificatePem, deviceKey, 'request-2'), refusedWith(/another request.id/));
    assert.throws(
      () =>
        verifyProvisionReply(reply, { trustedRootPem: platform.rootCertificatePem, caAuthentication: true, clientId: 'someone-else', requestId: 'request-1' }),
      refusedWith(/another clientId/),
    );
  });

  it('Should trust a signed error statement, and refuse one whose code was changed or that is unsigned', () => {
    const options = { trustedRootPem: platform.rootCertificatePem, caAuthentication: true, clientId, requestId: 'request-9' };
    const genuine = signedStatement(platform, { clientId, requestId: 'request-9', responseCode: 409, message: 'REQUEST_WRONG_STATE' });
    assert.equal(verifyReplyStatement(genuine, options).responseCode, 409);
    const recoded = signedStatement(platform, { clientId, requestId: 'request-9', responseCode: 409 }, { responseCode: 401 });
    assert.throws(() => verifyReplyStatement(recoded, options), refusedWith(/response.code is not the signed one/));
    const busy = { clientId, requestId: 'request-9', responseCode: 429, message: 'OVERLOADED', retryAfterSeconds: 1 };
    assert.equal(verifyReplyStatement(signedStatement(platform, busy), options).retryAfterSeconds, 1);
    const parked = signedStatement(platform, busy, { retryAfterSeconds: 86_400 });
    assert.throws(() => verifyReplyStatement(parked, options), refusedWith(/retry.after.seconds is not the signed one/));
    const unsigned = decodeReply(encodeReply({ requestId: 'request-9', responseCode: 401, message: 'ACTIVATION_KEY_INVALID' }));
    assert.throws(() => verifyReplyStatement(unsigned, options), refusedWith(/not signed/));
    const forStranger = signedStatement(stranger, { clientId, requestId: 'request-9', responseCode: 404 });
    assert.throws(() => verifyReplyStatement(forStranger, options), refusedWith(/signing certificate not trusted/));
  });

  it('Should accept a genuine reply on a device whose clock is not set (1970): expiry judged at the root’s notBefore, notBefore not at all', async () => {
    // Issued after the root: with the clock taken as the root's notBefore, this certificate would be "not yet valid".
    await new Promise((resolve) => setTimeout(resolve, 1100));
    const later = (await platform.issueFromCsr(createCertificateSigningRequest(clientId, deviceKey), { clientId, account })).certPem;
    assert.ok(new Date(new X509Certificate(later).validFrom) > new Date(new X509Certificate(platform.rootCertificatePem).validFrom));
    const reply = signedReply(resultFrom(platform, later), platform);
    const unsetClock = new Date(0);
    const time = trustedTime(platform.rootCertificatePem, 0);
    assert.deepEqual(time, { now: new Date(new X509Certificate(platform.rootCertificatePem).validFrom), clockUnset: true });
    const result = verifyProvisionReply(reply, {
      trustedRootPem: platform.rootCertificatePem,
      caAuthentication: true,
      clientId,
      requestId: 'request-1',
      devicePublicKey: deviceKey,
      now: unsetClock,
    });
    assert.equal(result.clientId, clientId);
  });

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
