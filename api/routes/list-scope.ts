import { listScope } from '../access.ts';
import type { Principal } from '../auth.ts';
import { invalid } from '../problem.ts';

/** Lists the store keeps per account (configurations, bundles) need one: the token's own, or the admin's choice. */
export function requiredListAccount(principal: Principal, requested: string | undefined): string {
  const accountId = listScope(principal, requested);
  if (accountId === undefined) throw invalid('query/accountId', 'is required with the admin token');
  return accountId;
}
