import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { errorCatalogue, errorCodes } from '../errors/catalogue.ts';
import { PlatformError, toPlatformError } from '../errors/platform-error.ts';

const errorsDoc = readFileSync(new URL('../docs/ERRORS.md', import.meta.url), 'utf8');

describe('error catalogue', () => {
  it('documents every code in docs/ERRORS.md', () => {
    const missing = errorCodes.filter((code) => !errorsDoc.includes(`\`${code}\``));
    assert.deepEqual(missing, [], `codes missing from docs/ERRORS.md: ${missing.join(', ')}`);
  });

  it('documents no code that does not exist', () => {
    const documented = [...errorsDoc.matchAll(/^\| `([A-Z_]+)` \|/gm)].map((match) => match[1]);
    const unknown = documented.filter((code) => !(code! in errorCatalogue));
    assert.deepEqual(unknown, []);
  });

  it('documents the HTTP status, CONNACK and reply code each error really has', () => {
    for (const code of errorCodes) {
      const definition = errorCatalogue[code] as { httpStatus: number; connackCode?: number; replyCode?: number };
      const row = errorsDoc.split('\n').find((line) => line.startsWith(`| \`${code}\` |`));
      assert.ok(row, code);
      const cells = row.split('|').map((cell) => cell.trim());
      assert.equal(cells[3], String(definition.httpStatus), `${code} HTTP status`);
      assert.equal(cells[4], String(definition.connackCode ?? '–'), `${code} CONNACK`);
      assert.equal(cells[5], String(definition.replyCode ?? '–'), `${code} reply code`);
    }
  });

  it('gives every code a status in the HTTP error range and valid CONNACK codes', () => {
    for (const code of errorCodes) {
      const definition = errorCatalogue[code] as { httpStatus: number; connackCode?: number };
      assert.ok(definition.httpStatus >= 400 && definition.httpStatus < 600, code);
      if (definition.connackCode !== undefined) assert.ok(definition.connackCode >= 1 && definition.connackCode <= 5, code);
    }
  });

  it('turns an unknown error into a plain INTERNAL error and logs it once', () => {
    const logged: object[] = [];
    const mapped = toPlatformError(new Error('SQLITE_CORRUPT at /secret/path'), { error: (object) => logged.push(object) });
    assert.equal(mapped.code, 'INTERNAL');
    assert.equal(mapped.message, 'Internal error');
    assert.equal(mapped.detail, undefined);
    assert.equal(logged.length, 1);
  });

  it('keeps a PlatformError as it is and maps it to each layer', () => {
    const error = new PlatformError('ACTIVATION_KEY_INVALID', { detail: 'wrong key' });
    assert.equal(toPlatformError(error, { error: () => assert.fail('must not log') }), error);
    assert.equal(error.replyCode, 401);
    assert.equal(error.httpStatus, 401);
    assert.equal(new PlatformError('CONNECT_BAD_CREDENTIALS').connackCode, 4);
  });
});
