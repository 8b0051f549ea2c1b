import { ChainVerifier } from './chain-verifier.ts';

export type ChainCheck = { ok: true } | { ok: false; reason: string };

/**
 * ca-authentication: does `leaf` chain up through `intermediates` to `trustedRoot`, every link
 * signed by the next and valid at `now`? The root must be the one the device was given,
 * byte for byte, never one taken from the message. One check with nothing remembered; a fleet
 * keeps one ChainVerifier instead.
 */
export function checkChain(leafPem: string, intermediatePems: readonly string[], trustedRootPem: string, now = new Date()): ChainCheck {
  return new ChainVerifier().check(leafPem, intermediatePems, trustedRootPem, now);
}
