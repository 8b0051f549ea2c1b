import type { ProvisionResult } from '../protocol/messages.ts';
import { encodeProvisionResult, encodeReply } from '../protocol/messages.ts';
import { signBody } from '../protocol/signing.ts';
import type { PlatformError } from '../errors/platform-error.ts';
import type { ProvisionerDependencies } from './dependencies.ts';

/** A 200 reply: the result document, its exact bytes signed with the message-signing key. */
export function successReply(deps: ProvisionerDependencies, requestId: string, result: ProvisionResult): Buffer {
  const body = encodeProvisionResult(result);
  const { signature, algorithm } = signBody(body, deps.signing.key);
  return encodeReply({ requestId, responseCode: 200, signature, signatureAlgorithm: algorithm, body });
}

/** An error reply: code and a message safe for the device; no stack, no internals. */
export function errorReply(requestId: string, error: PlatformError): Buffer {
  return encodeReply({
    requestId,
    responseCode: error.replyCode,
    message: error.detail ? `${error.code}: ${error.detail}` : error.code,
    ...(error.retryAfterSeconds !== undefined ? { retryAfterSeconds: error.retryAfterSeconds } : {}),
  });
}

export function plainReply(requestId: string, responseCode: number, message?: string): Buffer {
  return encodeReply({ requestId, responseCode, ...(message ? { message } : {}) });
}
