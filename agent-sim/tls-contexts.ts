import { createSecureContext, type ConnectionOptions, type SecureContext } from 'node:tls';
import { ContentCache } from '../protocol/content-cache.ts';
import type { FactoryCredentials } from './factory-credentials.ts';

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

/**
 * The TLS settings of a connection that presents a client certificate other than through mqtt.js's
 * own options: the factory certificate to the provision broker and to cloud discovery, or the
 * operational one to cloud discovery (docs/PROTOCOL.md §17 and §19), trusting the same roots as
 * trustOnlyTls. Each device has its own certificate, so each connection gets its own context: a
 * cache shared by a fleet would hold one entry per device and hit none.
 */
export function clientCertificateTls(
  factory: FactoryCredentials,
  trustedRootPem: string,
  learntRootPems: readonly string[] = [],
): Pick<ConnectionOptions, 'secureContext'> {
  return { secureContext: createSecureContext({ ca: [trustedRootPem, ...learntRootPems], cert: factory.certPem, key: factory.keyPem }) };
}
