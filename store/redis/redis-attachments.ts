import { buildBundle, pageWindow } from '../records.ts';
import type { BundleMetadata, Configuration, ConfigurationVersion, NewBundle, NewConfiguration, Page, PageOptions } from '../types.ts';
import { loadStrings, pageFromIndex } from './index-paging.ts';
import { createAttachmentScript, deleteAttachmentScript } from './record-scripts.ts';
import { RedisConfigurations } from './redis-configurations.ts';
import { parseRecord, type RedisContext } from './redis-context.ts';

/** What a request can attach: configurations (with their versions, see redis-configurations.ts) and bundle metadata, an immutable record indexed per account. */
export class RedisAttachments {
  private readonly configurations: RedisConfigurations;

  constructor(private readonly context: RedisContext) {
    this.configurations = new RedisConfigurations(context);
  }

  createConfiguration(input: NewConfiguration): Promise<Configuration> {
    return this.configurations.create(input);
  }
  getConfiguration(id: string): Promise<Configuration | null> {
    return this.configurations.get(id);
  }
  listConfigurations(accountId: string, page?: PageOptions): Promise<Page<Configuration>> {
    return this.configurations.list(accountId, page);
  }
  deleteConfiguration(id: string): Promise<void> {
    return this.configurations.delete(id);
  }
  updateConfigurationContent(id: string, expectedVersion: number, content: Record<string, unknown>, createdBy: string): Promise<Configuration> {
    return this.configurations.updateContent(id, expectedVersion, content, createdBy);
  }
  listConfigurationVersions(id: string, page?: PageOptions): Promise<Page<ConfigurationVersion>> {
    return this.configurations.listVersions(id, page);
  }
  getConfigurationVersion(id: string, version: number): Promise<ConfigurationVersion | null> {
    return this.configurations.getVersion(id, version);
  }

  async createBundle(input: NewBundle): Promise<BundleMetadata> {
    const { keys, scripts } = this.context;
    const bundle = buildBundle(input, Date.now());
    await scripts.run(
      createAttachmentScript,
      [keys.bundle(bundle.id), keys.account(bundle.accountId), keys.accountBundles(bundle.accountId)],
      [bundle.id, JSON.stringify(bundle), bundle.createdOn],
    );
    return bundle;
  }

  async getBundle(id: string): Promise<BundleMetadata | null> {
    const json = await this.context.redis.get(this.context.keys.bundle(id));
    return json ? parseRecord<BundleMetadata>(json) : null;
  }

  listBundles(accountId: string, page?: PageOptions): Promise<Page<BundleMetadata>> {
    const { redis, keys } = this.context;
    return pageFromIndex(
      redis,
      {
        index: keys.accountBundles(accountId),
        load: (ids) =>
          loadStrings(
            redis,
            ids.map((id) => keys.bundle(id)),
          ),
        parse: (json) => parseRecord<BundleMetadata>(json),
      },
      pageWindow(page),
    );
  }

  /** Reads the bundle for its account index; the script refuses if it is gone meanwhile. */
  async deleteBundle(id: string): Promise<void> {
    const { keys, scripts } = this.context;
    const current = await this.getBundle(id);
    // An unknown id still goes through the script, which answers NOT_FOUND.
    await scripts.run(deleteAttachmentScript, [keys.bundle(id), keys.accountBundles(current?.accountId ?? '')], [id, 'bundleNotFound']);
  }
}
