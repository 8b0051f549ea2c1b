import { checkNextRoot, rootFingerprint, type NextRootTrust } from '../protocol/root-trust.ts';
import { ContentCache } from '../protocol/content-cache.ts';
import type { DeviceState } from './device-state.ts';

/** What learnNextRoot did with a result's `trust`: nothing to learn, a root learnt, or a next root refused (and why). */
export type RootLearning =
  { readonly kind: 'none' } | { readonly kind: 'learnt'; readonly fingerprint: string } | { readonly kind: 'refused'; readonly reason: string };

/**
 * A verified provision or renewal result's `trust` (PROTOCOL.md §7, "A new root"): when it names a
 * root the device does not hold, and its cross certificate chains to a root the device holds with
 * the new root's exact subject and key, the new root is stored beside the others (learnt-roots.pem)
 * and trusted from then on, for replies and for the brokers' certificates. A `trust` that does not
 * pass is ignored: the result itself was verified, only the new root is not taken.
 */
export async function learnNextRoot(state: DeviceState, trust: NextRootTrust | undefined, now = new Date()): Promise<RootLearning> {
  if (!trust) return { kind: 'none' };
  const held = await state.trustedRoots();
  let fingerprint: string;
  try {
    fingerprint = rootFingerprint(trust.nextRoot);
  } catch {
    return { kind: 'refused', reason: 'trust.nextRoot cannot be parsed' };
  }
  if (held.some((root) => fingerprintOf(root) === fingerprint)) return { kind: 'none' };
  const check = checkNextRoot(trust, held, now);
  if (!check.ok) return { kind: 'refused', reason: check.reason };
  await state.learnRoot(check.rootPem);
  return { kind: 'learnt', fingerprint };
}

const fingerprints = new ContentCache<string>(64);

/** SHA-256 (hex) of a root, worked out once per PEM for a whole fleet. */
export function fingerprintOf(rootPem: string): string {
  return fingerprints.get(rootPem, () => rootFingerprint(rootPem));
}

/** The `trust.roots` of a birth (PROTOCOL.md §10): the SHA-256 of every root the device trusts. */
export async function trustedRootFingerprints(state: DeviceState): Promise<string[]> {
  return (await state.trustedRoots()).map(fingerprintOf);
}
