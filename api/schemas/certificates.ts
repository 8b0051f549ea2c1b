import { clientIdSchema, dateTimeSchema, idSchema, pageQueryProperties, pageSchema, type JsonSchema, type PageQuery } from './common.ts';
import type { CertificateStatus } from '../../store/types.ts';

export const serialSchema: JsonSchema = {
  type: 'string',
  pattern: '^[0-9A-Fa-f]{1,64}$',
  description: 'Certificate serial number in hex.',
};

const certificateStatusSchema: JsonSchema = { type: 'string', enum: ['VALID', 'REVOKED'] };

export const certificateSchema: JsonSchema = {
  type: 'object',
  additionalProperties: false,
  required: [
    'serial',
    'accountId',
    'clientId',
    'provisionRequestId',
    'pem',
    'notBefore',
    'notAfter',
    'status',
    'revokedOn',
    'revocationReason',
    'createdOn',
  ],
  properties: {
    serial: serialSchema,
    accountId: idSchema,
    clientId: { type: 'string' },
    provisionRequestId: { type: ['string', 'null'] },
    pem: { type: 'string', description: 'The certificate (PEM).' },
    notBefore: dateTimeSchema,
    notAfter: dateTimeSchema,
    status: certificateStatusSchema,
    revokedOn: { type: ['string', 'null'], format: 'date-time' },
    revocationReason: { type: ['string', 'null'] },
    createdOn: dateTimeSchema,
  },
};

export const certificatePageSchema = pageSchema(certificateSchema, 'A page of issued certificates.');

export const certificateListQuerySchema: JsonSchema = {
  type: 'object',
  additionalProperties: false,
  properties: {
    accountId: idSchema,
    clientId: clientIdSchema,
    status: certificateStatusSchema,
    ...pageQueryProperties,
  },
};

export interface CertificateListQuery extends PageQuery {
  readonly accountId?: string;
  readonly clientId?: string;
  readonly status?: CertificateStatus;
}

export const revocationSchema: JsonSchema = {
  type: 'object',
  additionalProperties: false,
  required: ['reason'],
  properties: {
    reason: {
      type: 'string',
      minLength: 1,
      maxLength: 256,
      pattern: '^[^\\u0000-\\u001F\\u007F-\\u009F]+$',
      description: 'Why, e.g. keyCompromise, superseded, cessationOfOperation.',
    },
  },
};

export interface RevocationBody {
  readonly reason: string;
}
