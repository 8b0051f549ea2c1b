import { PlatformError } from '../../errors/platform-error.ts';
import { buildBundle, buildConfiguration, pageWindow, refusal } from '../records.ts';
import type { BundleMetadata, Configuration, NewBundle, NewConfiguration, Page, PageOptions } from '../types.ts';
import { bundleFromRow, bundleToRow, configurationFromRow, configurationToRow, type BundleRow, type ConfigurationRow } from './row-mapping.ts';
import { Conditions, selectPage, type SqlRunner } from './sql-runner.ts';

/** What a provision request can attach: configurations and application bundle metadata. */
export class SqliteAttachments {
  constructor(private readonly sql: SqlRunner) {}

  createConfiguration(input: NewConfiguration): Configuration {
    const configuration = buildConfiguration(input, Date.now());
    this.sql.run(
      'INSERT INTO configurations (id, account_id, name, content, created_on) VALUES (@id, @account_id, @name, @content, @created_on)',
      configurationToRow(configuration),
    );
    return configuration;
  }

  getConfiguration(id: string): Configuration | null {
    const row = this.sql.get<ConfigurationRow>('SELECT * FROM configurations WHERE id = ?', id);
    return row ? configurationFromRow(row) : null;
  }

  listConfigurations(accountId: string, page?: PageOptions): Page<Configuration> {
    const conditions = new Conditions().equal('account_id', accountId);
    return selectPage(this.sql, 'configurations', conditions, 'created_on, id', pageWindow(page), configurationFromRow);
  }

  deleteConfiguration(id: string): void {
    const { changes } = this.sql.run('DELETE FROM configurations WHERE id = ?', id);
    if (changes === 0) throw new PlatformError('NOT_FOUND', { detail: refusal.configurationNotFound });
  }

  createBundle(input: NewBundle): BundleMetadata {
    const bundle = buildBundle(input, Date.now());
    this.sql.run(
      `INSERT INTO bundles (id, account_id, name, version, size, sha256, created_on)
       VALUES (@id, @account_id, @name, @version, @size, @sha256, @created_on)`,
      bundleToRow(bundle),
    );
    return bundle;
  }

  getBundle(id: string): BundleMetadata | null {
    const row = this.sql.get<BundleRow>('SELECT * FROM bundles WHERE id = ?', id);
    return row ? bundleFromRow(row) : null;
  }

  listBundles(accountId: string, page?: PageOptions): Page<BundleMetadata> {
    const conditions = new Conditions().equal('account_id', accountId);
    return selectPage(this.sql, 'bundles', conditions, 'created_on, id', pageWindow(page), bundleFromRow);
  }

  deleteBundle(id: string): void {
    const { changes } = this.sql.run('DELETE FROM bundles WHERE id = ?', id);
    if (changes === 0) throw new PlatformError('NOT_FOUND', { detail: refusal.bundleNotFound });
  }
}
