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
  tooLarge: 413,
  overloaded: 429,
  internalError: 500,
  unavailable: 503,
} as const;
export type ResponseCode = (typeof ResponseCode)[keyof typeof ResponseCode];

export type DeviceAction = 'install' | 'retry' | 'retry-after' | 'give-up';

export function actionFor(code: number): DeviceAction {
  switch (code) {
    case ResponseCode.ok:
      return 'install';
    case ResponseCode.overloaded:
      return 'retry-after';
    case ResponseCode.notActiveYet:
    case ResponseCode.internalError:
    case ResponseCode.unavailable:
      return 'retry';
    default:
      return 'give-up';
  }
}
