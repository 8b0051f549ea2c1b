/**
 * The one catalogue of errors. Every layer (MQTT CONNACK, provisioning replies, HTTP problem
 * bodies, start-up) maps failures through it, so a code means the same thing everywhere.
 * docs/ERRORS.md documents every code; test/errors-catalogue.test.ts fails when one is missing.
 */

/** MQTT 3.1.1 CONNACK return codes [MQTT-3.2.2-3]. */
export const ConnackCode = {
  accepted: 0,
  unacceptableProtocolVersion: 1,
  identifierRejected: 2,
  serverUnavailable: 3,
  badUsernameOrPassword: 4,
  notAuthorized: 5,
} as const;
export type ConnackCode = (typeof ConnackCode)[keyof typeof ConnackCode];

export interface ErrorDefinition {
  readonly message: string;
  /** HTTP status for the admin API. */
  readonly httpStatus: number;
  /** CONNACK return code when the error refuses an MQTT connection. */
  readonly connackCode?: ConnackCode;
  /** `response.code` of a provisioning reply. */
  readonly replyCode?: number;
}

export const errorCatalogue = {
  INTERNAL: {
    message: 'Internal error',
    httpStatus: 500,
    connackCode: ConnackCode.serverUnavailable,
    replyCode: 500,
  },
  CONFIG_INVALID: { message: 'The configuration is invalid', httpStatus: 500 },
  DATA_DIR_UNUSABLE: { message: 'The data directory cannot be written', httpStatus: 500 },
  CA_MATERIAL_INVALID: { message: 'The certificate authority files are invalid', httpStatus: 500 },
  SECRETS_INVALID: { message: 'The platform secrets file is invalid', httpStatus: 500 },
  STORE_UNAVAILABLE: {
    message: 'The provision store is unavailable',
    httpStatus: 503,
    connackCode: ConnackCode.serverUnavailable,
    replyCode: 503,
  },
  VALIDATION_FAILED: { message: 'The input is not valid', httpStatus: 400, replyCode: 400 },
  PAYLOAD_TOO_LARGE: { message: 'The payload is too large', httpStatus: 413, replyCode: 413 },
  NOT_FOUND: { message: 'Not found', httpStatus: 404, replyCode: 404 },
  DUPLICATE: { message: 'A record with the same identity already exists', httpStatus: 409 },
  VERSION_CONFLICT: {
    message: 'The record was changed by someone else; read it again and retry',
    httpStatus: 409,
  },
  UNAUTHENTICATED: { message: 'Missing or invalid API token', httpStatus: 401 },
  FORBIDDEN: { message: 'This token may not do this', httpStatus: 403 },
  CONNECT_BAD_CREDENTIALS: {
    message: 'Bad user name or password',
    httpStatus: 401,
    connackCode: ConnackCode.badUsernameOrPassword,
  },
  CONNECT_NOT_AUTHORIZED: {
    message: 'Not authorized to connect',
    httpStatus: 403,
    connackCode: ConnackCode.notAuthorized,
  },
  CONNECT_CLIENT_ID_INVALID: {
    message: 'The client identifier is not allowed',
    httpStatus: 400,
    connackCode: ConnackCode.identifierRejected,
  },
  CONNECT_LOCKED_OUT: {
    message: 'Too many failed connection attempts; try again later',
    httpStatus: 429,
    connackCode: ConnackCode.notAuthorized,
  },
  TOPIC_NOT_AUTHORIZED: { message: 'Not authorized for this topic', httpStatus: 403 },
  RETAIN_NOT_ALLOWED: { message: 'This broker keeps no retained messages', httpStatus: 403 },
  RETAINED_LIMIT_REACHED: { message: "The device's retained messages are at their limit", httpStatus: 403 },
  ACTIVATION_KEY_INVALID: { message: 'The activation key is wrong', httpStatus: 401, replyCode: 401 },
  REQUEST_WRONG_STATE: {
    message: 'The provision request is not in a state that allows this',
    httpStatus: 409,
    replyCode: 409,
  },
  REQUEST_EXPIRED: { message: 'The provision request has expired', httpStatus: 410, replyCode: 410 },
  REQUEST_NOT_ACTIVE: {
    message: 'The provision request is not active yet',
    httpStatus: 403,
    replyCode: 403,
  },
  RETRIES_EXHAUSTED: {
    message: 'The provision request has used up its attempts',
    httpStatus: 409,
    replyCode: 409,
  },
  KEY_GENERATION_NEEDS_TLS: {
    message: 'The platform sends a generated private key over TLS only: send a CSR, or connect over TLS',
    httpStatus: 400,
    replyCode: 426,
  },
  ATTEMPT_KEY_CHANGED: {
    message: 'This request.id was answered for another key: start a new attempt with a new request.id',
    httpStatus: 409,
    replyCode: 422,
  },
  CONFIGURATION_HASH_MISMATCH: {
    message: 'The reported configuration hash is not the one the platform holds for this device',
    httpStatus: 409,
    replyCode: 412,
  },
  OVERLOADED: { message: 'Busy; retry after the given delay', httpStatus: 429, replyCode: 429 },
  CSR_INVALID: { message: 'The certificate signing request is not valid', httpStatus: 400, replyCode: 400 },
  CSR_SUBJECT_MISMATCH: {
    message: 'The certificate signing request names another device',
    httpStatus: 400,
    replyCode: 400,
  },
  CERTIFICATE_REVOKED: {
    message: 'The certificate is revoked',
    httpStatus: 403,
    connackCode: ConnackCode.notAuthorized,
  },
  CERTIFICATE_INVALID: {
    message: 'The certificate was not issued by this platform or is not valid now',
    httpStatus: 403,
    connackCode: ConnackCode.notAuthorized,
  },
  FACTORY_CERTIFICATE_BLOCKED: {
    message: 'This factory certificate is blocked',
    httpStatus: 403,
    connackCode: ConnackCode.notAuthorized,
  },
  ENROLLMENT_REFUSED: {
    message: 'No enrollment admits this device',
    httpStatus: 403,
    connackCode: ConnackCode.notAuthorized,
  },
  BUNDLE_TOKEN_INVALID: { message: 'The download token is invalid or expired', httpStatus: 403 },
  BUNDLE_HASH_MISMATCH: {
    message: 'The uploaded content does not match the given sha256',
    httpStatus: 400,
  },
  JOB_WRONG_STATE: { message: 'The update job is not in a state that allows this', httpStatus: 409 },
} as const satisfies Record<string, ErrorDefinition>;

export type ErrorCode = keyof typeof errorCatalogue;

export const errorCodes = Object.keys(errorCatalogue) as ErrorCode[];
