import assert from 'node:assert/strict';
import { X509Certificate } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { ChainVerifier } from '../protocol/chain-verifier.ts';
import { makeDeviceKey } from '../agent-sim/provisioning-flow.ts';
import type { CertificateAuthority } from '../certs/certificate-authority.ts';
import { checkChain } from '../protocol/certificate-chain.ts';
import { createCertificateSigningRequest } from '../protocol/csr.ts';
import { openTestCa, removeTemporaryDirectories, temporaryDirectory } from './support/ca-test-kit.ts';

const day = 86_400_000;

/**
 * A fleet (agent-sim) checks chains with one ChainVerifier that parses what every device receives
 * once; it must answer exactly as a fresh check (checkChain) does, the first time and from its cache.
 */
describe('chain verifier (ca-authentication)', () => {
  let platform: CertificateAuthority;
  let stranger: CertificateAuthority;
  let deviceCertificate: string;

  before(async () => {
    platform = await openTestCa(await temporaryDirectory());
    stranger = await openTestCa(await temporaryDirectory());
    const key = makeDeviceKey();
    const issued = await platform.issueFromCsr(createCertificateSigningRequest('chain-device', key), { clientId: 'chain-device', account: 'acme' });
    deviceCertificate = issued.certPem;
  });
  after(removeTemporaryDirectories);

  function cases(): { name: string; leaf: string; chain: string[]; root: string; now?: Date; ok: boolean }[] {
    const signing = platform.signingCredentials.certPem;
    const chain = [platform.issuingCertificatePem, platform.rootCertificatePem];
    const root = platform.rootCertificatePem;
    const notAfter = Date.parse(new X509Certificate(deviceCertificate).validTo);
    return [
      { name: 'signing certificate through the issuing CA', leaf: signing, chain, root, ok: true },
      { name: 'device certificate through the issuing CA', leaf: deviceCertificate, chain, root, ok: true },
      { name: 'chain without the root', leaf: deviceCertificate, chain: [platform.issuingCertificatePem], root, ok: true },
      { name: 'another platform’s root', leaf: signing, chain, root: stranger.rootCertificatePem, ok: false },
      { name: 'another platform’s issuing CA', leaf: signing, chain: [stranger.issuingCertificatePem, root], root, ok: false },
      { name: 'issuing CA missing', leaf: signing, chain: [root], root, ok: false },
      { name: 'a device certificate posing as the issuer', leaf: signing, chain: [deviceCertificate, root], root, ok: false },
      { name: 'before the certificates are valid', leaf: deviceCertificate, chain, root, now: new Date(Date.now() - 3 * day), ok: false },
      { name: 'after the device certificate expired', leaf: deviceCertificate, chain, root, now: new Date(notAfter + day), ok: false },
      { name: 'a PEM that cannot be parsed', leaf: '-----BEGIN CERTIFICATE-----\nnot a certificate\n-----END CERTIFICATE-----\n', chain, root, ok: false },
    ];
  }

  it('Should give the expected answer, and from its cache the same answer and reason as a fresh checkChain', () => {
    const verifier = new ChainVerifier();
    for (let round = 1; round <= 2; round += 1) {
      for (const c of cases()) {
        const expected = checkChain(c.leaf, c.chain, c.root, c.now);
        assert.equal(expected.ok, c.ok, `${c.name}: the reference answer`);
        assert.deepEqual(verifier.check(c.leaf, c.chain, c.root, c.now), expected, `${c.name}, round ${round}`);
      }
    }
  });

  it('Should check a parsed device certificate like its PEM', () => {
    const verifier = new ChainVerifier();
    const parsed = new X509Certificate(deviceCertificate);
    const chain = [platform.issuingCertificatePem, platform.rootCertificatePem];
    assert.deepEqual(verifier.check(parsed, chain, platform.rootCertificatePem), { ok: true });
    assert.deepEqual(verifier.check(parsed, chain, stranger.rootCertificatePem), checkChain(deviceCertificate, chain, stranger.rootCertificatePem));
  });

  it('Should not let a cached verdict outlive a certificate', () => {
    const verifier = new ChainVerifier();
    const signing = platform.signingCredentials.certPem;
    const chain = [platform.issuingCertificatePem, platform.rootCertificatePem];
    assert.deepEqual(verifier.check(signing, chain, platform.rootCertificatePem), { ok: true });
    const later = new Date(Date.parse(new X509Certificate(signing).validTo) + day);
    const check = verifier.check(signing, chain, platform.rootCertificatePem, later);
    assert.equal(check.ok, false);
    assert.match(check.ok ? '' : check.reason, /is not valid now/);
  });
});
