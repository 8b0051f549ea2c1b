import { createSecureContext, type ConnectionOptions, type SecureContext } from 'node:tls';
import { ContentCache } from '../protocol/content-cache.ts';

const trustOnly = new ContentCache<SecureContext>(8);

/**
 * The TLS settings of a connection that presents no client certificate (the provision broker):
 * only the trusted root, the same for every device of a fleet. One OpenSSL context per root
 * instead of one per connection; the handshake on the wire is the same, a full one each time
 * (node resumes a TLS session only when it is handed one, and agent-sim never does).
 */
export function trustOnlyTls(trustedRootPem: string): Pick<ConnectionOptions, 'secureContext'> {
  return { secureContext: trustOnly.get(trustedRootPem, () => createSecureContext({ ca: trustedRootPem })) };
}
