import Database from 'better-sqlite3';
import { PlatformError } from '../../errors/platform-error.ts';
import { databaseFailureCause, prepareDatabaseFile } from './database-file.ts';
import { applyMigrations } from './migrations.ts';

export interface SqliteOpenOptions {
  /** How long a writer waits for another process's lock before STORE_UNAVAILABLE. */
  readonly busyTimeoutMs?: number;
  /**
   * WAL with NORMAL (the default) survives a crash of the process (kill -9) with every commit;
   * only a power loss or OS crash can drop the last commits. FULL fsyncs each commit, which made
   * the store most of the platform's CPU per device in the end-to-end benchmark.
   */
  readonly synchronous?: 'normal' | 'full';
}

/**
 * Opens (creating if needed, mode 0600) and migrates a database file; ':memory:' gives a private
 * in-memory database for tests. WAL lets readers run beside the one writer. A failure names its
 * cause (ENOSPC, EROFS, EACCES, or SQLite's code).
 */
export function openDatabase(file: string, options: SqliteOpenOptions = {}): Database.Database {
  let db: Database.Database;
  try {
    if (file !== ':memory:') prepareDatabaseFile(file);
    db = new Database(file);
  } catch (error) {
    throw new PlatformError('STORE_UNAVAILABLE', { detail: `cannot open the SQLite database ${file}: ${databaseFailureCause(error, file)}`, cause: error });
  }
  try {
    db.pragma('journal_mode = WAL');
    db.pragma(`busy_timeout = ${Math.max(0, Math.floor(options.busyTimeoutMs ?? 5000))}`);
    db.pragma('foreign_keys = ON');
    db.pragma(`synchronous = ${options.synchronous === 'full' ? 'FULL' : 'NORMAL'}`);
    applyMigrations(db);
    return db;
  } catch (error) {
    db.close();
    if (error instanceof PlatformError) throw error;
    throw new PlatformError('STORE_UNAVAILABLE', { detail: `cannot prepare the SQLite database ${file}: ${databaseFailureCause(error, file)}`, cause: error });
  }
}
