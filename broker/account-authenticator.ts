import type { TLSSocket } from 'node:tls';
import { fromPem } from '../certs/pem.ts';
import { PlatformError } from '../errors/platform-error.ts';
import { isAcceptableClientId } from '../protocol/topics.ts';
import type { IssuedCertificate, ProvisionStore } from '../store/types.ts';
import type { SessionPrincipal } from './session-terminator.ts';
import { deviceNamespacesOnAccountBroker } from './topic-acl.ts';

export interface AccountConnectAttempt {
  readonly clientId: string;
  readonly socket: TLSSocket | null;
}

/**
 * The account broker's CONNECT rule. The TLS handshake already refused certificates not chaining
 * to our CA or outside their validity. Here: the certificate must be, byte for byte, one we
 * issued and recorded, not revoked, and recorded for the MQTT clientId (the CA wrote it with
 * CN = clientId). The account is the one it is recorded for, under the account's current name.
 *
 * The principal records the account id and the certificate serial, so that revoking the
 * certificate or deleting the account ends this session (broker/session-terminator.ts).
 *
 * The peer certificate is taken as the X509Certificate TLS already holds: getPeerCertificate()
 * builds an object with fingerprints and names, and parsing it again cost as much as the rest
 * of this check (docs/BENCHMARKS.md, profile).
 */
export function createAccountAuthenticator(store: ProvisionStore, onRenewedCertificateUsed?: (certificate: IssuedCertificate) => Promise<void>) {
  return async function authenticate(attempt: AccountConnectAttempt): Promise<SessionPrincipal> {
    if (!isAcceptableClientId(attempt.clientId)) throw new PlatformError('CONNECT_CLIENT_ID_INVALID');
    const socket = attempt.socket;
    if (!socket || !socket.authorized) throw new PlatformError('CERTIFICATE_INVALID', { detail: 'no verified client certificate' });
    const peer = socket.getPeerX509Certificate();
    if (!peer) throw new PlatformError('CERTIFICATE_INVALID', { detail: 'no client certificate' });
    // The serial as the CA records it: lower-case hex, as X509Certificate prints it.
    const record = await store.getCertificate(peer.serialNumber.toLowerCase());
    if (!record || !fromPem(record.pem, ['CERTIFICATE'])?.equals(peer.raw)) {
      throw new PlatformError('CERTIFICATE_INVALID', { detail: 'certificate not issued by this platform' });
    }
    if (record.status === 'REVOKED') throw new PlatformError('CERTIFICATE_REVOKED', { detail: `serial ${record.serial}` });
    if (record.clientId !== attempt.clientId) {
      throw new PlatformError('CERTIFICATE_INVALID', { detail: 'certificate issued to another device (CN is not the clientId)' });
    }
    const account = await store.getAccount(record.accountId);
    if (!account) throw new PlatformError('CERTIFICATE_INVALID', { detail: 'the account of the certificate no longer exists' });
    // The first CONNECT with a renewed certificate retires the one it renews (docs/PROTOCOL.md §13).
    // Decided on the record already read: a certificate that renews nothing, or whose renewal is
    // settled, costs nothing more.
    if (record.renewsSerial !== null && record.renewalSettledOn === null) await onRenewedCertificateUsed?.(record);
    return {
      kind: 'device',
      account: account.name,
      clientId: attempt.clientId,
      namespaces: deviceNamespacesOnAccountBroker(account.name, attempt.clientId),
      // What a revocation or an account deletion names (broker/session-terminator.ts).
      accountId: account.id,
      certificateSerial: record.serial,
    };
  };
}
