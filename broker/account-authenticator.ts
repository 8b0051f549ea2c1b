import { X509Certificate } from 'node:crypto';
import type { TLSSocket } from 'node:tls';
import { PlatformError } from '../errors/platform-error.ts';
import { isAcceptableClientId } from '../protocol/topics.ts';
import type { ProvisionStore } from '../store/types.ts';
import { deviceNamespacesOnAccountBroker, type BrokerPrincipal } from './topic-acl.ts';

export interface AccountConnectAttempt {
  readonly clientId: string;
  readonly socket: TLSSocket | null;
}

/** The serial as the CA records it: lower-case hex of the DER INTEGER, as X509Certificate prints it. */
function serialOf(raw: Buffer): string {
  return new X509Certificate(raw).serialNumber.toLowerCase();
}

/**
 * The account broker's CONNECT rule. The TLS handshake already refused certificates not chaining
 * to our CA or outside their validity. Here: the certificate must be one we issued and recorded,
 * not revoked, its CN the MQTT clientId and its O the account it is recorded for.
 */
export function createAccountAuthenticator(store: ProvisionStore) {
  return async function authenticate(attempt: AccountConnectAttempt): Promise<BrokerPrincipal> {
    if (!isAcceptableClientId(attempt.clientId)) throw new PlatformError('CONNECT_CLIENT_ID_INVALID');
    const socket = attempt.socket;
    if (!socket || !socket.authorized) throw new PlatformError('CERTIFICATE_INVALID', { detail: 'no verified client certificate' });
    const peer = socket.getPeerCertificate();
    if (!peer || !peer.raw) throw new PlatformError('CERTIFICATE_INVALID', { detail: 'no client certificate' });
    const commonName = String(peer.subject?.CN ?? '');
    const organization = String(peer.subject?.O ?? '');
    if (commonName !== attempt.clientId) {
      throw new PlatformError('CERTIFICATE_INVALID', { detail: `certificate CN ${commonName} is not the clientId` });
    }
    const record = await store.getCertificate(serialOf(peer.raw));
    if (!record) throw new PlatformError('CERTIFICATE_INVALID', { detail: 'certificate not issued by this platform' });
    if (record.status === 'REVOKED') throw new PlatformError('CERTIFICATE_REVOKED', { detail: `serial ${record.serial}` });
    if (record.clientId !== attempt.clientId) throw new PlatformError('CERTIFICATE_INVALID', { detail: 'certificate issued to another device' });
    const account = await store.getAccount(record.accountId);
    if (!account || account.name !== organization) {
      throw new PlatformError('CERTIFICATE_INVALID', { detail: 'certificate O is not the device account' });
    }
    return {
      kind: 'device',
      account: account.name,
      clientId: attempt.clientId,
      namespaces: deviceNamespacesOnAccountBroker(account.name, attempt.clientId),
    };
  };
}
