import { buildBundle, buildConfiguration, pageWindow, refusal } from '../records.ts';
import type { BundleMetadata, Configuration, NewBundle, NewConfiguration, Page, PageOptions } from '../types.ts';
import { loadStrings, pageFromIndex } from './index-paging.ts';
import { createAttachmentScript, deleteAttachmentScript } from './record-scripts.ts';
import { parseRecord, type RedisContext } from './redis-context.ts';

/** Configurations and bundle metadata: immutable records indexed per account. */
interface AttachmentKind {
  readonly record: (id: string) => string;
  readonly accountIndex: (accountId: string) => string;
  readonly notFound: keyof typeof refusal;
}

export class RedisAttachments {
  private readonly configurations: AttachmentKind;
  private readonly bundles: AttachmentKind;

  constructor(private readonly context: RedisContext) {
    const { keys } = context;
    this.configurations = {
      record: (id) => keys.configuration(id),
      accountIndex: (accountId) => keys.accountConfigurations(accountId),
      notFound: 'configurationNotFound',
    };
    this.bundles = {
      record: (id) => keys.bundle(id),
      accountIndex: (accountId) => keys.accountBundles(accountId),
      notFound: 'bundleNotFound',
    };
  }

  createConfiguration(input: NewConfiguration): Promise<Configuration> {
    return this.create(this.configurations, buildConfiguration(input, Date.now()));
  }
  getConfiguration(id: string): Promise<Configuration | null> {
    return this.get(this.configurations, id);
  }
  listConfigurations(accountId: string, page?: PageOptions): Promise<Page<Configuration>> {
    return this.list(this.configurations, accountId, page);
  }
  deleteConfiguration(id: string): Promise<void> {
    return this.delete<Configuration>(this.configurations, id);
  }

  createBundle(input: NewBundle): Promise<BundleMetadata> {
    return this.create(this.bundles, buildBundle(input, Date.now()));
  }
  getBundle(id: string): Promise<BundleMetadata | null> {
    return this.get(this.bundles, id);
  }
  listBundles(accountId: string, page?: PageOptions): Promise<Page<BundleMetadata>> {
    return this.list(this.bundles, accountId, page);
  }
  deleteBundle(id: string): Promise<void> {
    return this.delete<BundleMetadata>(this.bundles, id);
  }

  private async create<T extends { id: string; accountId: string; createdOn: number }>(kind: AttachmentKind, record: T): Promise<T> {
    await this.context.scripts.run(
      createAttachmentScript,
      [kind.record(record.id), this.context.keys.account(record.accountId), kind.accountIndex(record.accountId)],
      [record.id, JSON.stringify(record), record.createdOn],
    );
    return record;
  }

  private async get<T>(kind: AttachmentKind, id: string): Promise<T | null> {
    const json = await this.context.redis.get(kind.record(id));
    return json ? parseRecord<T>(json) : null;
  }

  private list<T>(kind: AttachmentKind, accountId: string, page?: PageOptions): Promise<Page<T>> {
    const { redis } = this.context;
    return pageFromIndex(
      redis,
      {
        index: kind.accountIndex(accountId),
        load: (ids) => loadStrings(redis, ids.map(kind.record)),
        parse: (json) => parseRecord<T>(json),
      },
      pageWindow(page),
    );
  }

  /** Reads the record for its account index; the script refuses if it is gone meanwhile. */
  private async delete<T extends { accountId: string }>(kind: AttachmentKind, id: string): Promise<void> {
    const current = await this.get<T>(kind, id);
    // An unknown id still goes through the script, which answers NOT_FOUND.
    const accountIndex = kind.accountIndex(current?.accountId ?? '');
    await this.context.scripts.run(deleteAttachmentScript, [kind.record(id), accountIndex], [id, kind.notFound]);
  }
}
