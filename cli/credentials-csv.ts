import { stringify } from 'csv-stringify/sync';
import type { Schemas } from './api-client.ts';

/**
 * The credentials file of `provisio requests import`: `clientId,username,password,activationKey`,
 * one created request a line, as the API's `Accept: text/csv` batch answer and agent-sim
 * --credentials have it. Written by csv-stringify (quoting as RFC 4180 wants).
 */
export function credentialsCsv(created: readonly Schemas['CreatedProvisionRequest'][]): string {
  return stringify(
    created.map((request) => [request.clientId, request.credentials.username, request.credentials.password, request.credentials.activationKey ?? '']),
    { header: true, columns: ['clientId', 'username', 'password', 'activationKey'], record_delimiter: '\n' },
  );
}
