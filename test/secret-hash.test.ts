import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { generateSecret, hashSecret, verifySecret } from '../crypto/secret-hash.ts';

describe('secret hashes', () => {
  for (const origin of ['chosen', 'generated'] as const) {
    it(`verifies a ${origin} secret and refuses a wrong one`, async () => {
      const secret = origin === 'generated' ? generateSecret() : 'correct horse battery staple';
      const hash = await hashSecret(secret, origin);
      assert.ok(!hash.includes(secret));
      assert.equal(await verifySecret(secret, hash), true);
      assert.equal(await verifySecret(`${secret}x`, hash), false);
      assert.equal(await verifySecret('', hash), false);
    });
  }

  it('salts: the same secret hashes differently twice', async () => {
    assert.notEqual(await hashSecret('same'), await hashSecret('same'));
    assert.notEqual(await hashSecret('same', 'generated'), await hashSecret('same', 'generated'));
  });

  it('uses scrypt for chosen secrets and HMAC-SHA256 only for generated ones', async () => {
    assert.match(await hashSecret('chosen'), /^scrypt\$512\$8\$1\$/);
    assert.match(await hashSecret(generateSecret(), 'generated'), /^hmac-sha256\$/);
  });

  it('Should never match a malformed stored hash', async () => {
    for (const stored of ['', 'plain', 'scrypt$1$1$1$$', 'hmac-sha256$$', 'scrypt$99999999$8$1$AAAA$AAAA', 'hmac-sha256$AA$AA$AA']) {
      assert.equal(await verifySecret('anything', stored), false, stored);
    }
  });

  it('generates 32-character secrets from a 62-letter alphabet', () => {
    const secrets = new Set(Array.from({ length: 200 }, () => generateSecret()));
    assert.equal(secrets.size, 200);
    for (const secret of secrets) assert.match(secret, /^[A-Za-z0-9]{32}$/);
  });
});
