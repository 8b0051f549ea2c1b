import type { ApiClient, Schemas } from './api-client.ts';
import { RefusedError } from './exit-codes.ts';

/** The API's largest page. */
const pageLimit = 1000;

/**
 * Accounts by name: the commands take `--account acme` where the API wants an account id. The
 * accounts are read once per command (GET /api/v1/accounts, every page), and a value that is an
 * account's id is taken as it is.
 */
export class AccountNames {
  private accounts: Promise<Schemas['Account'][]> | undefined;

  constructor(private readonly api: () => ApiClient) {}

  private all(): Promise<Schemas['Account'][]> {
    this.accounts ??= this.readAll();
    return this.accounts;
  }

  private async readAll(): Promise<Schemas['Account'][]> {
    const api = this.api();
    const accounts: Schemas['Account'][] = [];
    for (;;) {
      const page = await api.call(api.client.GET('/api/v1/accounts', { params: { query: { offset: accounts.length, limit: pageLimit } } }));
      accounts.push(...page.items);
      if (page.items.length < pageLimit || accounts.length >= page.total) return accounts;
    }
  }

  /** The id of the account named (or identified by) `nameOrId`. */
  async idOf(nameOrId: string): Promise<string> {
    const accounts = await this.all();
    const account = accounts.find((candidate) => candidate.name === nameOrId) ?? accounts.find((candidate) => candidate.id === nameOrId);
    if (!account) {
      // As the API answers an unknown id: a name that names nothing is "not found" (exit code 1).
      throw new RefusedError(404, { title: 'Not Found', code: 'NOT_FOUND', detail: `no account named '${nameOrId}' (provisio accounts ls lists them)` });
    }
    return account.id;
  }

  /** `idOf`, or undefined when no account was given. */
  async optionalIdOf(nameOrId: string | undefined): Promise<string | undefined> {
    return nameOrId === undefined ? undefined : this.idOf(nameOrId);
  }

  /** The name of the account with this id, for tables (the id itself when it is not known). */
  async nameOf(id: string): Promise<string> {
    return (await this.all()).find((account) => account.id === id)?.name ?? id;
  }
}
