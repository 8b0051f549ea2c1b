import { PlatformError } from '../../errors/platform-error.ts';
import { buildBundle, buildConfiguration, configurationVersionOf, nextConfigurationVersion, pageWindow, refusal } from '../records.ts';
import type { BundleMetadata, Configuration, ConfigurationVersion, NewBundle, NewConfiguration, Page, PageOptions } from '../types.ts';
import {
  bundleFromRow,
  bundleToRow,
  configurationFromRow,
  configurationToRow,
  configurationVersionFromRow,
  configurationVersionToRow,
  type BundleRow,
  type ConfigurationRow,
  type ConfigurationVersionRow,
} from './row-mapping.ts';
import { Conditions, selectPage, type SqlRunner } from './sql-runner.ts';

const insertConfiguration = `
  INSERT INTO configurations (id, account_id, name, content, version, created_on, modified_on)
  VALUES (@id, @account_id, @name, @content, @version, @created_on, @modified_on)`;

const insertConfigurationVersion = `
  INSERT INTO configuration_versions (configuration_id, version, content, created_on, created_by)
  VALUES (@configuration_id, @version, @content, @created_on, @created_by)`;

/** Compare-and-set: the content changes only if nobody made a version since it was read. */
const updateConfigurationContent = `
  UPDATE configurations SET content = @content, version = @version, modified_on = @modified_on
  WHERE id = @id AND version = @expected_version`;

/**
 * What a provision request can attach: configurations, each with every version of its content
 * (the current one in configurations, all of them in configuration_versions), and application
 * bundle metadata.
 */
export class SqliteAttachments {
  constructor(private readonly sql: SqlRunner) {}

  /** The configuration and its version 1, in one transaction. */
  createConfiguration(input: NewConfiguration): Configuration {
    const configuration = buildConfiguration(input, Date.now());
    this.sql.write(() => {
      this.sql.run(insertConfiguration, configurationToRow(configuration));
      this.sql.run(insertConfigurationVersion, configurationVersionToRow(configurationVersionOf(configuration, input.createdBy ?? '')));
    });
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

  /** The configuration and all its versions, in one transaction. */
  deleteConfiguration(id: string): void {
    this.sql.write(() => {
      this.sql.run('DELETE FROM configuration_versions WHERE configuration_id = ?', id);
      const { changes } = this.sql.run('DELETE FROM configurations WHERE id = ?', id);
      if (changes === 0) throw new PlatformError('NOT_FOUND', { detail: refusal.configurationNotFound });
    });
  }

  /** The next version: its row and the configuration's new current content, in one transaction. */
  updateConfigurationContent(id: string, expectedVersion: number, content: Record<string, unknown>, createdBy: string): Configuration {
    return this.sql.write(() => {
      const current = this.getConfiguration(id);
      if (!current) throw new PlatformError('NOT_FOUND', { detail: refusal.configurationNotFound });
      if (current.version !== expectedVersion) throw new PlatformError('VERSION_CONFLICT', { detail: refusal.staleVersion });
      const next = nextConfigurationVersion(current, content, Date.now());
      const { changes } = this.sql.run(updateConfigurationContent, { ...configurationToRow(next), expected_version: expectedVersion });
      if (changes === 0) throw new PlatformError('VERSION_CONFLICT', { detail: refusal.staleVersion });
      this.sql.run(insertConfigurationVersion, configurationVersionToRow(configurationVersionOf(next, createdBy)));
      return next;
    });
  }

  /** Newest first; the check that the configuration exists and the page read one snapshot. */
  listConfigurationVersions(id: string, page?: PageOptions): Page<ConfigurationVersion> {
    return this.sql.read(() => {
      if (!this.sql.get('SELECT 1 FROM configurations WHERE id = ?', id)) throw new PlatformError('NOT_FOUND', { detail: refusal.configurationNotFound });
      const conditions = new Conditions().equal('configuration_id', id);
      return selectPage(this.sql, 'configuration_versions', conditions, 'version DESC', pageWindow(page), configurationVersionFromRow);
    });
  }

  getConfigurationVersion(id: string, version: number): ConfigurationVersion | null {
    const row = this.sql.get<ConfigurationVersionRow>('SELECT * FROM configuration_versions WHERE configuration_id = ? AND version = ?', id, version);
    return row ? configurationVersionFromRow(row) : null;
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
