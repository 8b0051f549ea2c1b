import type { ApiClient } from '../api-client.ts';
import { defineCommand } from '../command.ts';
import { printJson } from '../output.ts';

/** What an enable/disable command needs of a record kind that PATCHes `enabled` under its version. */
export interface EnabledSwitch<T extends { readonly name: string; readonly enabled: boolean }> {
  readonly readVersion: (client: ApiClient, id: string) => Promise<number>;
  readonly patch: (client: ApiClient, id: string, body: { version: number; enabled: boolean }) => Promise<T>;
}

/**
 * `enable ID` or `disable ID`: the record's current version is read first, as the PATCH wants it
 * (a change in between is 409, exit 1). Shared by manufacturer CAs and enrollment groups.
 */
export function enabledCommand<T extends { readonly name: string; readonly enabled: boolean }>(
  name: 'enable' | 'disable',
  summary: string,
  record: EnabledSwitch<T>,
) {
  return defineCommand({
    name,
    summary,
    usage: 'ID',
    options: {},
    positionals: { min: 1, max: 1 },
    run: async (context, _values, [id]) => {
      const client = context.api();
      const version = await record.readVersion(client, id!);
      const changed = await record.patch(client, id!, { version, enabled: name === 'enable' });
      if (context.out.json) return printJson(context.out, changed);
      context.out.stdout(`${changed.name}: ${changed.enabled ? 'enabled' : 'disabled'}\n`);
    },
  });
}
