/**
 * The one table of what a device meets: every CONNACK return code of the provision broker and
 * every `response.code` of a reply, the error codes behind each (docs/ERRORS.md) and what the
 * device does. docs/PROTOCOL.md §2 and §6 print it, errors/catalogue.ts maps onto it, agent-sim
 * acts on it (actionFor), and test/protocol-code-table.test.ts produces each row over a real
 * socket, so that the four cannot drift apart.
 */

/**
 * - install: go on; retry: the same message after `retry-interval`; retry-after: the same message
 *   after `retry.after.seconds`;
 * - back-off: CONNECT again after `retry-interval`, doubled after each such refusal, up to 300 s;
 * - wait-lockout: CONNECT again no sooner than 300 s (the default lock-out);
 * - repeat-provision: send the provision request again with the SAME request.id (same certificate,
 *   current configuration), apply what comes back, report again;
 * - new-attempt: a provision request with a NEW request.id;
 * - give-up: stop and tell the operator.
 */
export type DeviceAction = 'install' | 'retry' | 'retry-after' | 'back-off' | 'wait-lockout' | 'repeat-provision' | 'new-attempt' | 'give-up';

export interface DeviceOutcome {
  readonly code: number;
  /** Codes of docs/ERRORS.md answered with it (none for a success). */
  readonly errorCodes: readonly string[];
  readonly action: DeviceAction;
}

/** CONNACK return codes of the provision broker (MQTT 3.1.1). */
export const connackOutcomes: readonly DeviceOutcome[] = [
  { code: 0, errorCodes: [], action: 'install' },
  { code: 1, errorCodes: [], action: 'give-up' },
  { code: 2, errorCodes: ['CONNECT_CLIENT_ID_INVALID'], action: 'give-up' },
  { code: 3, errorCodes: ['STORE_UNAVAILABLE', 'INTERNAL'], action: 'retry' },
  { code: 4, errorCodes: ['CONNECT_BAD_CREDENTIALS'], action: 'back-off' },
  {
    code: 5,
    errorCodes: ['CONNECT_NOT_AUTHORIZED', 'CONNECT_LOCKED_OUT', 'CERTIFICATE_INVALID', 'FACTORY_CERTIFICATE_BLOCKED', 'ENROLLMENT_REFUSED'],
    action: 'wait-lockout',
  },
];

/** `response.code` of replies to provision requests and completion reports. */
export const replyOutcomes: readonly DeviceOutcome[] = [
  { code: 200, errorCodes: [], action: 'install' },
  { code: 400, errorCodes: ['VALIDATION_FAILED', 'CSR_INVALID', 'CSR_SUBJECT_MISMATCH'], action: 'give-up' },
  { code: 401, errorCodes: ['ACTIVATION_KEY_INVALID'], action: 'give-up' },
  { code: 403, errorCodes: ['REQUEST_NOT_ACTIVE'], action: 'retry-after' },
  { code: 404, errorCodes: ['NOT_FOUND'], action: 'give-up' },
  { code: 409, errorCodes: ['REQUEST_WRONG_STATE', 'RETRIES_EXHAUSTED'], action: 'give-up' },
  { code: 410, errorCodes: ['REQUEST_EXPIRED'], action: 'give-up' },
  { code: 412, errorCodes: ['CONFIGURATION_HASH_MISMATCH'], action: 'repeat-provision' },
  { code: 413, errorCodes: ['PAYLOAD_TOO_LARGE'], action: 'give-up' },
  { code: 422, errorCodes: ['ATTEMPT_KEY_CHANGED'], action: 'new-attempt' },
  { code: 426, errorCodes: ['KEY_GENERATION_NEEDS_TLS'], action: 'give-up' },
  { code: 429, errorCodes: ['OVERLOADED'], action: 'retry-after' },
  { code: 500, errorCodes: ['INTERNAL'], action: 'retry' },
  { code: 503, errorCodes: ['STORE_UNAVAILABLE'], action: 'retry' },
];

/**
 * `response.code` of replies to CERT-V1 renewal requests on the account broker (PROTOCOL.md §13).
 * `give-up` there means: keep the current certificate and stop renewing until an operator acts;
 * `new-attempt`: a renewal request with a NEW request.id (and the new key).
 */
export const renewalOutcomes: readonly DeviceOutcome[] = [
  { code: 200, errorCodes: [], action: 'install' },
  { code: 400, errorCodes: ['VALIDATION_FAILED', 'CSR_INVALID', 'CSR_SUBJECT_MISMATCH'], action: 'give-up' },
  { code: 413, errorCodes: ['PAYLOAD_TOO_LARGE'], action: 'give-up' },
  { code: 422, errorCodes: ['ATTEMPT_KEY_CHANGED'], action: 'new-attempt' },
  { code: 429, errorCodes: ['OVERLOADED'], action: 'retry-after' },
  { code: 500, errorCodes: ['INTERNAL'], action: 'retry' },
  { code: 503, errorCodes: ['STORE_UNAVAILABLE'], action: 'retry' },
];

function actionIn(table: readonly DeviceOutcome[], code: number): DeviceAction {
  // An unknown code is a platform newer than the agent: stop rather than guess.
  return table.find((row) => row.code === code)?.action ?? 'give-up';
}

/** What a device does on a reply's `response.code`. */
export function actionFor(responseCode: number): DeviceAction {
  return actionIn(replyOutcomes, responseCode);
}

/** What a device does on the `response.code` of a reply to a renewal request. */
export function actionForRenewal(responseCode: number): DeviceAction {
  return actionIn(renewalOutcomes, responseCode);
}

/** What a device does on a CONNACK return code of the provision broker. */
export function actionForConnack(returnCode: number): DeviceAction {
  return actionIn(connackOutcomes, returnCode);
}
