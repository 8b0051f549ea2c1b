/**
 * What an API token may do (issue 17): `read` calls GET routes only; `operator` also changes the
 * fleet (provision requests, devices, categories, configurations, bundles, update jobs,
 * certificate revocation and renewal); `admin` also manages accounts and API tokens. Each
 * scope includes the ones before it. Where a token may act (one account or all) is apart from
 * this: an account-bound token never reaches outside its account, whatever its scope.
 */
export const tokenScopes = ['read', 'operator', 'admin'] as const;
export type TokenScope = (typeof tokenScopes)[number];

/** Whether a token of scope `held` may call a route that needs `needed`. */
export function scopeCovers(held: TokenScope, needed: TokenScope): boolean {
  return tokenScopes.indexOf(held) >= tokenScopes.indexOf(needed);
}

/**
 * The scope a route needs when its row in the route table names none: GET reads, any other
 * method writes. So a new write route is closed to read-only tokens without anyone remembering to.
 */
export function defaultScopeOf(method: string): TokenScope {
  return method === 'get' ? 'read' : 'operator';
}

export function isTokenScope(value: unknown): value is TokenScope {
  return typeof value === 'string' && (tokenScopes as readonly string[]).includes(value);
}
