import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { describeErrno, errnoOf, errnoOfSqliteCode } from '../errors/file-system-cause.ts';
import { PlatformError, storageUnavailable, toPlatformError } from '../errors/platform-error.ts';

function errno(code: string, message = `${code}: something, write '/secret/data/bundles/.upload-1'`): NodeJS.ErrnoException {
  return Object.assign(new Error(message), { code });
}

describe('the file-system cause of an error (issue 12 §4)', () => {
  it('Should find the errno code on an error or its causes, and nothing else', () => {
    assert.equal(errnoOf(errno('EROFS')), 'EROFS');
    assert.equal(errnoOf(new Error('wrapped', { cause: errno('ENOSPC') })), 'ENOSPC');
    assert.equal(errnoOf(Object.assign(new Error('x'), { code: 'SQLITE_FULL' })), undefined);
    assert.equal(errnoOf('ENOSPC'), undefined);
    assert.equal(errnoOf(null), undefined);
  });

  it('Should name a cause in words, and SQLITE_FULL as ENOSPC', () => {
    assert.equal(describeErrno('ENOSPC'), 'ENOSPC (no space left on the device)');
    assert.equal(describeErrno('EROFS'), 'EROFS (read-only file system)');
    assert.equal(describeErrno('EWHATEVER'), 'EWHATEVER');
    assert.equal(errnoOfSqliteCode('SQLITE_FULL'), 'ENOSPC');
    assert.equal(errnoOfSqliteCode('SQLITE_IOERR_WRITE'), undefined);
  });

  it('Should map a full disk, a quota, a read-only or failing file system to 503 STORE_UNAVAILABLE naming the cause, never the path', () => {
    for (const code of ['ENOSPC', 'EDQUOT', 'EROFS', 'EIO']) {
      const logged: object[] = [];
      const mapped = toPlatformError(errno(code), { error: (object) => logged.push(object) });
      assert.equal(mapped.code, 'STORE_UNAVAILABLE', code);
      assert.equal(mapped.httpStatus, 503);
      assert.equal(mapped.detail, `the server could not write to its storage: ${describeErrno(code)}`);
      assert.doesNotMatch(mapped.message, /secret/);
      assert.equal(logged.length, 1, 'logged once, with the path, for the operator');
    }
    assert.equal(storageUnavailable(errno('ENOSPC'), 'cannot store the bundle')?.detail, 'cannot store the bundle: ENOSPC (no space left on the device)');
  });

  it('Should keep other errors INTERNAL, and PlatformErrors as they are', () => {
    assert.equal(toPlatformError(errno('EACCES'), { error: () => {} }).code, 'INTERNAL');
    assert.equal(storageUnavailable(new Error('plain')), undefined);
    const error = new PlatformError('NOT_FOUND');
    assert.equal(toPlatformError(error, { error: () => assert.fail('must not log') }), error);
  });
});
