/**
 * `response.code` values of provisioning replies (HTTP-like, as in Kura), by name. What a device
 * does on each is in device-outcomes.ts, the table docs/PROTOCOL.md §6 prints.
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
