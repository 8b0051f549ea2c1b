import { clientIdSchema, dateTimeSchema, idSchema, pageQueryProperties, pageSchema, type JsonSchema, type PageQuery } from './common.ts';

export const auditEventSchema: JsonSchema = {
  type: 'object',
  additionalProperties: false,
  required: ['id', 'time', 'type', 'outcome', 'actor', 'accountId', 'clientId', 'provisionRequestId', 'detail'],
  properties: {
    id: { type: 'string' },
    time: dateTimeSchema,
    type: { type: 'string', description: 'e.g. request.created, connect.refused, provision.replied.' },
    outcome: { type: 'string', enum: ['success', 'failure'] },
    actor: { type: 'string', description: "'admin', an API token id, or the component that acted." },
    accountId: { type: ['string', 'null'] },
    clientId: { type: ['string', 'null'] },
    provisionRequestId: { type: ['string', 'null'] },
    detail: { type: 'object' },
  },
};

export const auditEventPageSchema = pageSchema(auditEventSchema, 'A page of audit events.');

export const auditEventListQuerySchema: JsonSchema = {
  type: 'object',
  additionalProperties: false,
  properties: {
    accountId: idSchema,
    clientId: clientIdSchema,
    provisionRequestId: idSchema,
    type: { type: 'string', minLength: 1, maxLength: 64, pattern: '^[A-Za-z0-9._-]+$' },
    startDate: { ...dateTimeSchema, description: 'At or after.' },
    endDate: { ...dateTimeSchema, description: 'At or before.' },
    ...pageQueryProperties,
  },
};

export interface AuditEventListQuery extends PageQuery {
  readonly accountId?: string;
  readonly clientId?: string;
  readonly provisionRequestId?: string;
  readonly type?: string;
  readonly startDate?: string;
  readonly endDate?: string;
}
