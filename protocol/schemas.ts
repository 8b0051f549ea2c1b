/**
 * JSON Schemas of every protocol message (Kura "simple JSON": {sentOn, metrics, body}).
 * The broker-side validator and any agent use these same objects.
 */
const requestId = { type: 'string', pattern: '^[A-Za-z0-9._-]{1,64}$' } as const;
const clientId = { type: 'string', minLength: 1, maxLength: 128 } as const;
const shortText = { type: 'string', maxLength: 128 } as const;
const pem = { type: 'string', maxLength: 16384 } as const;
const sha256Hex = { type: 'string', pattern: '^[0-9a-f]{64}$' } as const;

export const provisionRequestSchema = {
  $id: 'provisio:provision-request',
  type: 'object',
  additionalProperties: false,
  required: ['sentOn', 'metrics'],
  properties: {
    sentOn: { type: 'integer', minimum: 0 },
    metrics: {
      type: 'object',
      additionalProperties: false,
      required: ['request.id', 'requester.client.id'],
      properties: {
        'request.id': requestId,
        'requester.client.id': clientId,
        'activation.key': { type: 'string', minLength: 1, maxLength: 256 },
        csr: pem,
        'device.model': shortText,
        'device.serial': shortText,
        'device.firmware': shortText,
      },
    },
  },
} as const;

export const provisionCompleteSchema = {
  $id: 'provisio:provision-complete',
  type: 'object',
  additionalProperties: false,
  required: ['sentOn', 'metrics'],
  properties: {
    sentOn: { type: 'integer', minimum: 0 },
    metrics: {
      type: 'object',
      additionalProperties: false,
      required: ['request.id', 'requester.client.id', 'provision.request.id', 'configuration.hash'],
      properties: {
        'request.id': requestId,
        'requester.client.id': clientId,
        'provision.request.id': requestId,
        'configuration.hash': sha256Hex,
        'bundles.installed': { type: 'string', maxLength: 4096 },
      },
    },
  },
} as const;

export const replySchema = {
  $id: 'provisio:reply',
  type: 'object',
  additionalProperties: true,
  required: ['sentOn', 'metrics'],
  properties: {
    sentOn: { type: 'integer', minimum: 0 },
    metrics: {
      type: 'object',
      // Agents MUST ignore metrics they do not know (PROTOCOL.md §4): the platform may add some.
      additionalProperties: true,
      required: ['request.id', 'response.code'],
      properties: {
        'request.id': requestId,
        'response.code': { type: 'integer', minimum: 100, maximum: 599 },
        'response.exception.message': { type: 'string', maxLength: 1024 },
        'retry.after.seconds': { type: 'integer', minimum: 0 },
        signature: { type: 'string', maxLength: 2048 },
        'signature.algorithm': { type: 'string', enum: ['SHA256withECDSA', 'SHA256withRSA'] },
      },
    },
    /** base64 of the signed document's exact bytes (a UTF-8 JSON text). */
    body: { type: 'string', maxLength: 1048576 },
  },
} as const;

/** What every signed body names and carries: the exchange it answers and the signer's certificates. */
const signerCertificates = {
  type: 'object',
  additionalProperties: true,
  required: ['chain', 'signing'],
  properties: {
    chain: { type: 'array', minItems: 1, maxItems: 4, items: pem },
    signing: pem,
  },
} as const;

/**
 * The signed document inside a successful provisioning reply. Signed bodies are read leniently:
 * an agent MUST ignore fields it does not know (PROTOCOL.md §7), so the platform may add some.
 */
export const provisionResultSchema = {
  $id: 'provisio:provision-result',
  type: 'object',
  additionalProperties: true,
  required: ['clientId', 'requestId', 'account', 'issuedOn', 'certificates', 'configuration', 'bundles', 'next'],
  properties: {
    clientId,
    requestId,
    account: { type: 'string', minLength: 1, maxLength: 64 },
    issuedOn: { type: 'integer', minimum: 0 },
    certificates: {
      type: 'object',
      additionalProperties: true,
      required: ['client', 'chain', 'signing'],
      properties: {
        client: pem,
        clientKey: pem,
        chain: { type: 'array', minItems: 1, maxItems: 4, items: pem },
        signing: pem,
      },
    },
    configuration: {
      type: 'object',
      additionalProperties: true,
      required: ['content', 'sha256'],
      properties: {
        content: { type: 'string', maxLength: 262144 },
        sha256: sha256Hex,
      },
    },
    bundles: {
      type: 'array',
      maxItems: 9,
      items: {
        type: 'object',
        additionalProperties: true,
        required: ['name', 'version', 'size', 'sha256', 'url'],
        properties: {
          name: { type: 'string', minLength: 1, maxLength: 128 },
          version: { type: 'string', minLength: 1, maxLength: 64 },
          size: { type: 'integer', minimum: 0 },
          sha256: sha256Hex,
          url: { type: 'string', minLength: 1, maxLength: 2048 },
        },
      },
    },
    next: {
      type: 'object',
      additionalProperties: true,
      required: ['brokerUrl', 'clientId', 'account', 'auth'],
      properties: {
        brokerUrl: { type: 'string', minLength: 1, maxLength: 2048 },
        clientId,
        account: { type: 'string', minLength: 1, maxLength: 64 },
        auth: { type: 'string', enum: ['client-certificate'] },
      },
    },
  },
} as const;

/**
 * The signed body of every reply that is not a provision result: errors, and the answer to a
 * completion report. It names the exchange, so that it cannot be replayed to another one.
 */
export const replyStatementSchema = {
  $id: 'provisio:reply-statement',
  type: 'object',
  additionalProperties: true,
  required: ['clientId', 'requestId', 'responseCode', 'certificates'],
  properties: {
    clientId,
    requestId,
    responseCode: { type: 'integer', minimum: 100, maximum: 599 },
    message: { type: 'string', maxLength: 1024 },
    retryAfterSeconds: { type: 'integer', minimum: 0 },
    certificates: signerCertificates,
  },
} as const;

/** Birth message on the account broker ($EDC/{account}/{clientId}/MQTT/BIRTH). */
export const birthSchema = {
  $id: 'provisio:birth',
  type: 'object',
  additionalProperties: false,
  required: ['sentOn', 'metrics'],
  properties: {
    sentOn: { type: 'integer', minimum: 0 },
    metrics: {
      type: 'object',
      additionalProperties: true,
      required: ['configuration.hash'],
      properties: {
        'configuration.hash': sha256Hex,
        model_name: shortText,
        serial_number: shortText,
        firmware_version: shortText,
      },
    },
  },
} as const;
