import type { ProvisionResult, ReplyStatement } from '../protocol/messages.ts';
import { encodeProvisionResult, encodeReply, encodeReplyStatement } from '../protocol/messages.ts';
import { encodeRenewalResult, type RenewalResult } from '../protocol/renewal.ts';
import { signBody } from '../protocol/signing.ts';
import type { PlatformError } from '../errors/platform-error.ts';
import type { ProvisionerDependencies } from './dependencies.ts';

/** The part of the dependencies a reply needs: the signer and its chain. */
export type ReplySigner = Pick<ProvisionerDependencies, 'signing' | 'chainPems'>;

/**
 * Every reply carries a signed body naming the device and the request.id it answers
 * (PROTOCOL.md §6, §7), so that on plain TCP neither a forged answer nor a genuine answer to
 * another exchange can be passed off to a device.
 */
function signedReply(signer: ReplySigner, statement: Omit<ReplyStatement, 'certificates'>, body: Buffer): Buffer {
  const { signature, algorithm } = signBody(body, signer.signing.key);
  return encodeReply({
    requestId: statement.requestId,
    responseCode: statement.responseCode,
    ...(statement.message !== undefined ? { message: statement.message } : {}),
    ...(statement.retryAfterSeconds !== undefined ? { retryAfterSeconds: statement.retryAfterSeconds } : {}),
    signature,
    signatureAlgorithm: algorithm,
    body,
  });
}

function statementReply(signer: ReplySigner, statement: Omit<ReplyStatement, 'certificates'>): Buffer {
  const body = encodeReplyStatement({
    ...statement,
    certificates: { signing: signer.signing.certPem, chain: signer.chainPems },
  });
  return signedReply(signer, statement, body);
}

function truncate(text: string, maxLength: number): string {
  return text.length <= maxLength ? text : `${text.slice(0, maxLength - 1)}…`;
}

/** A 200 reply to a provision request: the result document, its exact bytes signed. */
export function successReply(signer: ReplySigner, result: ProvisionResult): Buffer {
  return signedReply(signer, { clientId: result.clientId, requestId: result.requestId, responseCode: 200 }, encodeProvisionResult(result));
}

/** A 200 reply to a CERT-V1 renewal request: the renewal result, its exact bytes signed. */
export function renewalReply(signer: ReplySigner, result: RenewalResult): Buffer {
  return signedReply(signer, { clientId: result.clientId, requestId: result.requestId, responseCode: 200 }, encodeRenewalResult(result));
}

/** An error reply: code and a message safe for the device (no stack, no internals), signed. */
export function errorReply(signer: ReplySigner, clientId: string, requestId: string, error: PlatformError): Buffer {
  return statementReply(signer, {
    clientId,
    requestId,
    responseCode: error.replyCode,
    // PROTOCOL.md §6: at most 1,024 characters (a detail may quote device input, e.g. a long CN).
    message: truncate(error.detail ? `${error.code}: ${error.detail}` : error.code, 1024),
    ...(error.retryAfterSeconds !== undefined ? { retryAfterSeconds: error.retryAfterSeconds } : {}),
  });
}

/** The 200 to a completion report, signed like every reply. */
export function completionReply(signer: ReplySigner, clientId: string, requestId: string): Buffer {
  return statementReply(signer, { clientId, requestId, responseCode: 200 });
}
