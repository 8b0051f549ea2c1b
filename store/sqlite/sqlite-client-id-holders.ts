import { clientIdHoldersFrom, type ClientIdClaim } from '../client-id-holders.ts';
import type { ClientIdHolders } from '../types.ts';
import type { SqlRunner } from './sql-runner.ts';

// One statement whatever the number of clientIds (a JSON array parameter); both use the client_id indexes.
const requestClaims = `
  SELECT DISTINCT client_id AS clientId, account_id AS accountId FROM provision_requests
  WHERE client_id IN (SELECT value FROM json_each(?))`;
const certificateClaims = `
  SELECT DISTINCT client_id AS clientId, account_id AS accountId FROM certificates
  WHERE status = 'VALID' AND client_id IN (SELECT value FROM json_each(?))`;

/** findClientIdHolders: both reads from one snapshot. */
export function findClientIdHolders(sql: SqlRunner, clientIds: readonly string[]): Map<string, ClientIdHolders> {
  if (clientIds.length === 0) return new Map();
  const list = JSON.stringify([...new Set(clientIds)]);
  return sql.read(() => clientIdHoldersFrom(sql.all<ClientIdClaim>(requestClaims, list), sql.all<ClientIdClaim>(certificateClaims, list)));
}
