/**
 * `response.code` values of provisioning replies (HTTP-like, as in Kura) and what a device
 * should do on each. docs/PROTOCOL.md has the same table in prose.
 */
export const ResponseCode = {
  ok: 200,
  badRequest: 400,
  activationKeyInvalid: 401,
  notActiveYet: 403,
  notFound: 404,
  wrongState: 409,
  expired: 410,
  configurationMismatch: 412,
  tooLarge: 413,
  keyChanged: 422,
  keyGenerationNeedsTls: 426,
  overloaded: 429,
  internalError: 500,
  unavailable: 503,
} as const;
export type ResponseCode = (typeof ResponseCode)[keyof typeof ResponseCode];

/**
 * - install: go on; retry: the same message after `retry-interval`; retry-after: the same message
 *   after `retry.after.seconds`;
 * - repeat-provision: send the provision request again with the SAME request.id (same certificate,
 *   current configuration), apply what comes back, report again;
 * - new-attempt: a provision request with a NEW request.id;
 * - give-up: stop and tell the operator.
 */
export type DeviceAction = 'install' | 'retry' | 'retry-after' | 'repeat-provision' | 'new-attempt' | 'give-up';

export function actionFor(code: number): DeviceAction {
  switch (code) {
    case ResponseCode.ok:
      return 'install';
    case ResponseCode.overloaded:
      return 'retry-after';
    case ResponseCode.configurationMismatch:
      return 'repeat-provision';
    case ResponseCode.keyChanged:
      return 'new-attempt';
    case ResponseCode.notActiveYet:
    case ResponseCode.internalError:
    case ResponseCode.unavailable:
      return 'retry';
    default:
      return 'give-up';
  }
}
