import { PlatformError } from '../../errors/platform-error.ts';
import { buildConfiguration, configurationVersionOf, nextConfigurationVersion, pageWindow, refusal } from '../records.ts';
import type { Configuration, ConfigurationVersion, NewConfiguration, Page, PageOptions } from '../types.ts';
import { createConfigurationScript, deleteConfigurationScript, updateConfigurationContentScript } from './configuration-scripts.ts';
import { loadStrings, pageFromIndex } from './index-paging.ts';
import { parseRecord, type RedisContext } from './redis-context.ts';

/** A configuration stored before versions were kept lacks version and modifiedOn: it is version 1, made when created. */
function configurationFromJson(json: string): Configuration {
  const stored = parseRecord<Omit<Configuration, 'version' | 'modifiedOn'> & Partial<Configuration>>(json);
  return { ...stored, version: stored.version ?? 1, modifiedOn: stored.modifiedOn ?? stored.createdOn };
}

/** Who made the versions of a configuration stored before versions were kept: nobody recorded it. */
const unrecordedAuthor = '';

/** Results of a MULTI, each checked: a failed command throws its error. */
function repliesOf(results: [Error | null, unknown][] | null): unknown[] {
  if (!results) throw new Error('the transaction was discarded');
  return results.map(([error, reply]) => {
    if (error) throw error;
    return reply;
  });
}

/**
 * Configurations and their versions (keys.configurationVersions, newest read first). Of a
 * configuration stored before versions were kept, its content is the one version, version 1,
 * until an edit keeps it in the sorted set as such.
 */
export class RedisConfigurations {
  constructor(private readonly context: RedisContext) {}

  async create(input: NewConfiguration): Promise<Configuration> {
    const { keys, scripts } = this.context;
    const configuration = buildConfiguration(input, Date.now());
    await scripts.run(
      createConfigurationScript,
      [
        keys.configuration(configuration.id),
        keys.account(configuration.accountId),
        keys.accountConfigurations(configuration.accountId),
        keys.configurationVersions(configuration.id),
      ],
      [configuration.id, JSON.stringify(configuration), configuration.createdOn, JSON.stringify(configurationVersionOf(configuration, input.createdBy ?? ''))],
    );
    return configuration;
  }

  async get(id: string): Promise<Configuration | null> {
    const json = await this.context.redis.get(this.context.keys.configuration(id));
    return json ? configurationFromJson(json) : null;
  }

  list(accountId: string, page?: PageOptions): Promise<Page<Configuration>> {
    const { redis, keys } = this.context;
    return pageFromIndex(
      redis,
      {
        index: keys.accountConfigurations(accountId),
        load: (ids) =>
          loadStrings(
            redis,
            ids.map((id) => keys.configuration(id)),
          ),
        parse: configurationFromJson,
      },
      pageWindow(page),
    );
  }

  async delete(id: string): Promise<void> {
    const { keys, scripts } = this.context;
    const current = await this.get(id);
    // An unknown id still goes through the script, which answers NOT_FOUND.
    await scripts.run(
      deleteConfigurationScript,
      [keys.configuration(id), keys.accountConfigurations(current?.accountId ?? ''), keys.configurationVersions(id)],
      [id],
    );
  }

  async updateContent(id: string, expectedVersion: number, content: Record<string, unknown>, createdBy: string): Promise<Configuration> {
    const { keys, scripts } = this.context;
    const current = await this.get(id);
    if (!current) throw new PlatformError('NOT_FOUND', { detail: refusal.configurationNotFound });
    if (current.version !== expectedVersion) throw new PlatformError('VERSION_CONFLICT', { detail: refusal.staleVersion });
    const next = nextConfigurationVersion(current, content, Date.now());
    // The script checks the version again: the current content kept as a version is still the stored one.
    await scripts.run(
      updateConfigurationContentScript,
      [keys.configuration(id), keys.configurationVersions(id)],
      [
        expectedVersion,
        JSON.stringify(next),
        JSON.stringify(configurationVersionOf(next, createdBy)),
        JSON.stringify(configurationVersionOf(current, unrecordedAuthor)),
      ],
    );
    return next;
  }

  /** The record, the count and the page in one transaction, so they agree. */
  async listVersions(id: string, page?: PageOptions): Promise<Page<ConfigurationVersion>> {
    const { redis, keys } = this.context;
    const { offset, limit } = pageWindow(page);
    const transaction = redis.multi().get(keys.configuration(id)).zcard(keys.configurationVersions(id));
    // ZREVRANGE with a stop below the start reads nothing; with limit 0 it would be offset - 1, which for offset 0 means "to the end".
    if (limit > 0) transaction.zrevrange(keys.configurationVersions(id), offset, offset + limit - 1);
    const [json, count, members = []] = repliesOf(await transaction.exec()) as [string | null, number, string[]?];
    if (json === null) throw new PlatformError('NOT_FOUND', { detail: refusal.configurationNotFound });
    if (count > 0) return { items: members.map((member) => parseRecord<ConfigurationVersion>(member)), total: count, offset, limit };
    const only = configurationVersionOf(configurationFromJson(json), unrecordedAuthor);
    return { items: offset === 0 && limit > 0 ? [only] : [], total: 1, offset, limit };
  }

  async getVersion(id: string, version: number): Promise<ConfigurationVersion | null> {
    const { redis, keys } = this.context;
    if (!Number.isSafeInteger(version)) return null;
    const [json, count, members] = repliesOf(
      await redis
        .multi()
        .get(keys.configuration(id))
        .zcard(keys.configurationVersions(id))
        .zrangebyscore(keys.configurationVersions(id), version, version)
        .exec(),
    ) as [string | null, number, string[]];
    if (json === null) return null;
    if (count > 0) return members[0] === undefined ? null : parseRecord<ConfigurationVersion>(members[0]);
    const only = configurationVersionOf(configurationFromJson(json), unrecordedAuthor);
    return only.version === version ? only : null;
  }
}
