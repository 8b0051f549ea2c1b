import { createSecureContext, type ConnectionOptions, type SecureContext } from 'node:tls';
import { ContentCache } from '../protocol/content-cache.ts';

const trustOnly = new ContentCache<SecureContext>(8);

/**
 * The TLS settings of a connection that presents no client certificate (the provision broker):
 * only the trusted roots (the factory's, and those learnt during a root rollover), the same for
 * every device of a fleet. One OpenSSL context per set of roots instead of one per connection; the
 * handshake on the wire is the same, a full one each time (node resumes a TLS session only when
 * it is handed one, and agent-sim never does).
 */
export function trustOnlyTls(trustedRootPem: string, learntRootPems: readonly string[] = []): Pick<ConnectionOptions, 'secureContext'> {
  const roots = [trustedRootPem, ...learntRootPems];
  return { secureContext: trustOnly.get(roots.join(''), () => createSecureContext({ ca: roots })) };
}
