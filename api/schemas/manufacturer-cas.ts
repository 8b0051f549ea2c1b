import { Type } from '@sinclair/typebox';
import { revocationSchema } from './certificates.ts';
import { dateTimeSchema, noControlCharacters, pageQueryProperties, pageSchema, versionSchema, withOptions } from './common.ts';

/**
 * Manufacturer CAs and the factory certificates blocked one by one (issue 18; docs/PROTOCOL.md §17).
 * Platform-wide records: only a token bound to no account reads them, and writing needs admin.
 */

export const manufacturerCaNameSchema = Type.String({
  minLength: 1,
  maxLength: 128,
  pattern: noControlCharacters,
  description: 'Unique on the platform: 1 to 128 characters, no control characters.',
});

/**
 * A certificate serial as an operator copies it: hex digits, with or without ':' between bytes.
 * Kept lower-case without leading zero bytes, as the platform reads it from a certificate.
 */
export const factorySerialSchema = Type.String({
  minLength: 1,
  maxLength: 128,
  pattern: '^[0-9A-Fa-f]+(:[0-9A-Fa-f]+)*$',
  description: "A certificate serial in hex (':' between bytes allowed); stored lower-case without leading zero bytes.",
});

const reasonSchema = withOptions(revocationSchema.properties.reason, { description: 'Why, for operators and the audit log (e.g. reported stolen).' });

export const newManufacturerCaSchema = Type.Object(
  {
    name: manufacturerCaNameSchema,
    pem: Type.String({
      minLength: 1,
      maxLength: 65536,
      description: 'One CA certificate (PEM) with basicConstraints CA:TRUE, not expired: the one that signs the factory certificates directly.',
    }),
  },
  { additionalProperties: false },
);

export const manufacturerCaPatchSchema = Type.Object(
  {
    version: versionSchema,
    name: Type.Optional(manufacturerCaNameSchema),
    enabled: Type.Optional(
      withOptions(Type.Boolean(), {
        description: 'false: no device with a certificate it signed is admitted, and the live provision-broker sessions of the devices it admitted end.',
      }),
    ),
  },
  { additionalProperties: false, minProperties: 2, description: 'The certificate never changes: register a new CA for a new certificate.' },
);

export const manufacturerCaSchema = Type.Object(
  {
    id: Type.String(),
    name: manufacturerCaNameSchema,
    pem: Type.String({ description: 'The CA certificate (PEM).' }),
    fingerprintSha256: Type.String({ pattern: '^[0-9a-f]{64}$', description: 'SHA-256 of the certificate DER, lower-case hex: unique on the platform.' }),
    subject: Type.String({ description: 'The subject of the certificate, one attribute a line.' }),
    notAfter: dateTimeSchema,
    enabled: Type.Boolean(),
    createdOn: dateTimeSchema,
    modifiedOn: dateTimeSchema,
    version: Type.Integer({ minimum: 0 }),
  },
  { additionalProperties: false },
);

export const manufacturerCaListSchema = Type.Object(
  { items: Type.Array(manufacturerCaSchema) },
  { additionalProperties: false, description: 'Every manufacturer CA of the platform, oldest first.' },
);

export const newFactoryCertificateBlockSchema = Type.Object(
  {
    serial: factorySerialSchema,
    reason: reasonSchema,
  },
  { additionalProperties: false },
);

export const factoryCertificateBlockSchema = Type.Object(
  {
    manufacturerCaId: Type.String(),
    serial: Type.String({ pattern: '^[0-9a-f]+$', description: 'Lower-case hex, no leading zero bytes.' }),
    reason: Type.String(),
    blockedOn: dateTimeSchema,
    blockedBy: Type.String(),
  },
  { additionalProperties: false },
);

export const factoryCertificateBlockPageSchema = pageSchema(factoryCertificateBlockSchema, 'A page of blocked factory certificates, newest first.');

export const factoryCertificateBlockListQuerySchema = Type.Object({ ...pageQueryProperties }, { additionalProperties: false });
