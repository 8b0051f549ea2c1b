import type { RenewNowNotice, RenewNowSender } from '../cluster/renew-now-notice.ts';
import type { Logger } from '../log/logger.ts';
import { encodeReplyStatement } from '../protocol/messages.ts';
import { encodeRenewNow, renewNowTopic } from '../protocol/renewal.ts';
import { signBody } from '../protocol/signing.ts';
import type { ReplySigner } from './reply-builder.ts';

export interface RenewNowPublisherDeps extends ReplySigner {
  /** QoS 1, not retained, into the account broker's topic space. */
  readonly publish: (topic: string, payload: Buffer) => Promise<void>;
  /** Whether the device's account-broker connection is held by this process (only that process tells it). */
  readonly isConnectedHere: (clientId: string) => boolean;
  readonly log: Logger;
}

/**
 * The renew-now command of one device (docs/PROTOCOL.md, CERT-V1 renew now): a §6 envelope with
 * response.code 200 and renew.within.seconds, its body a reply statement naming the device and
 * the request.id, with the operator's reason as `message`, signed like every reply (§7).
 */
export function renewNowCommand(signer: ReplySigner, clientId: string, notice: Pick<RenewNowNotice, 'renewalId' | 'withinSeconds' | 'reason'>): Buffer {
  const body = encodeReplyStatement({
    clientId,
    requestId: notice.renewalId,
    responseCode: 200,
    message: notice.reason,
    certificates: { signing: signer.signing.certPem, chain: signer.chainPems },
  });
  const { signature, algorithm } = signBody(body, signer.signing.key);
  return encodeRenewNow({ requestId: notice.renewalId, renewWithinSeconds: notice.withinSeconds, signature, signatureAlgorithm: algorithm, body });
}

/**
 * The broker side of renew now: each named device whose connection this process holds gets its
 * signed command on $EDC/{account}/{clientId}/CERT-V1/PUT/renew. A device connected to another
 * broker process of a cluster is told by that process (every process sees every notice).
 */
export function renewNowPublisher(deps: RenewNowPublisherDeps): RenewNowSender {
  const log = deps.log.child({ component: 'renew-now' });
  return {
    async tellToRenew(notice) {
      let told = 0;
      for (const clientId of notice.clientIds) {
        if (!deps.isConnectedHere(clientId)) continue;
        try {
          await deps.publish(renewNowTopic(notice.accountName, clientId), renewNowCommand(deps, clientId, notice));
          told += 1;
        } catch (error) {
          log.warn({ err: error, clientId, renewalId: notice.renewalId }, 'renew-now command not published');
        }
      }
      if (told > 0) log.info({ renewalId: notice.renewalId, account: notice.accountName, told }, 'renew-now command sent');
    },
  };
}
