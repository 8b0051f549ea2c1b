import { configurationHash } from '../protocol/configuration-hash.ts';
import type { Account, Configuration } from '../store/types.ts';

export interface BuiltConfiguration {
  /** The exact text the device receives and stores. */
  readonly content: string;
  /** sha256 (hex) of content's UTF-8 bytes: the hash the device reports back. */
  readonly sha256: string;
}

export interface ConfigurationValues {
  readonly clientId: string;
  readonly account: string;
  readonly brokerUrl: string;
}

function fill(value: unknown, values: ConfigurationValues): unknown {
  if (typeof value === 'string') {
    return value.replace(/\$\{(clientId|account|brokerUrl)\}/g, (_match, name: keyof ConfigurationValues) => values[name]);
  }
  if (Array.isArray(value)) return value.map((item) => fill(item, values));
  if (value && typeof value === 'object') {
    return Object.fromEntries(Object.entries(value).map(([key, item]) => [key, fill(item, values)]));
  }
  return value;
}

/**
 * The request's configuration attachment if it has one, otherwise the account's template with
 * the device's values filled in. Deterministic, so a repeated request gets the same hash.
 */
export function buildConfiguration(attachment: Pick<Configuration, 'content'> | null, account: Account, values: ConfigurationValues): BuiltConfiguration {
  const source = attachment
    ? attachment.content
    : {
        'client-id': values.clientId,
        'account-name': values.account,
        'broker-url': values.brokerUrl,
        ...account.configurationTemplate,
      };
  const content = JSON.stringify(fill(source, values));
  return { content, sha256: configurationHash(content) };
}
