import type { ApiClient, Schemas } from './api-client.ts';
import { RefusedError } from './exit-codes.ts';

/** The API's largest page. */
const pageLimit = 1000;

/**
 * Accounts by name: the commands take `--account acme` where the API wants an account id. The
 * accounts are read once per command (GET /api/v1/accounts, every page), and a value that is an
 * account's id is taken as it is. Only the admin token may list accounts: with an account token
 * the value is passed on as an id, and tables show account ids.
 */
export class AccountNames {
  private accounts: Promise<Schemas['Account'][] | null> | undefined;

  constructor(private readonly api: () => ApiClient) {}

  /** Every account, or null when this token may not list them (403). */
  private all(): Promise<Schemas['Account'][] | null> {
    this.accounts ??= this.readAll().catch((error: unknown) => {
      if (error instanceof RefusedError && error.status === 403) return null;
      throw error;
    });
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
    if (accounts === null) return nameOrId;
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
    return (await this.all())?.find((account) => account.id === id)?.name ?? id;
  }
}
