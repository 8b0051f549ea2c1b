import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { describe, it } from 'node:test';
import forge from 'node-forge';
import { decodeOid, encodeOid } from '../certs/der.ts';
import { messageSigningPurposeOid } from '../protocol/signing.ts';

const wellKnown = ['2.5.4.3', '2.5.29.37', '1.2.840.10045.4.3.2', '1.3.6.1.5.5.7.3.2', '1.2.840.113549.1.1.11', '0.9.2342.19200300.100.1.25'];

describe('OBJECT IDENTIFIER encoding (X.690 8.19)', () => {
  it('Should encode the OIDs of X.509 exactly as node-forge does', () => {
    for (const id of wellKnown) {
      assert.equal(encodeOid(id).toString('hex'), Buffer.from(forge.asn1.oidToDer(id).getBytes(), 'binary').toString('hex'), id);
      assert.equal(decodeOid(encodeOid(id)), id);
    }
  });

  it('Should encode the 128-bit arc of the message-signing purpose so that OpenSSL reads it back', () => {
    const contents = encodeOid(messageSigningPurposeOid);
    const der = Buffer.concat([Buffer.of(0x06, contents.length), contents]);
    const parsed = execFileSync('openssl', ['asn1parse', '-inform', 'DER'], { input: der }).toString();
    assert.match(parsed, new RegExp(`OBJECT\\s+:${messageSigningPurposeOid.replace(/\./g, '\\.')}`));
    assert.equal(decodeOid(contents), messageSigningPurposeOid);
  });

  it('Should refuse malformed contents', () => {
    assert.equal(decodeOid(Buffer.of(0x2a, 0x86)), undefined); // the last arc never ends
    assert.equal(decodeOid(Buffer.of(0x2a, 0x80, 0x01)), undefined); // not minimal
    assert.equal(decodeOid(Buffer.alloc(0)), undefined);
    assert.throws(() => encodeOid('3.1'));
  });
});
