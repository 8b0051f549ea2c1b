import { randomUUID } from 'node:crypto';
import { encodeConfigurationPushBody } from '../protocol/configuration.ts';
import { encodeConfigurationPush } from '../protocol/messages.ts';
import { signBody } from '../protocol/signing.ts';
import { configurationPushTopic } from '../protocol/topics.ts';
import type { HeldConfiguration } from './held-configuration.ts';
import type { ReplySigner } from './reply-builder.ts';

/**
 * The CONF-V1 push of a configuration to one device (docs/PROTOCOL.md, "Configuration (CONF-V1)"):
 * a §6 envelope with response.code 200 and a fresh request.id, its body a signed JSON document
 * naming the device and that request.id, with the configuration text, its sha256 and, for a
 * configuration record, its id and version.
 */
export function configurationPushMessage(
  signer: ReplySigner,
  account: string,
  clientId: string,
  held: HeldConfiguration,
): { topic: string; requestId: string; payload: Buffer } {
  const requestId = randomUUID();
  const body = encodeConfigurationPushBody({
    clientId,
    requestId,
    content: held.built.content,
    sha256: held.built.sha256,
    certificates: { signing: signer.signing.certPem, chain: [...signer.chainPems] },
    ...(held.configurationId !== null ? { configurationId: held.configurationId } : {}),
    ...(held.version !== null ? { version: held.version } : {}),
  });
  const { signature, algorithm } = signBody(body, signer.signing.key);
  return {
    topic: configurationPushTopic(account, clientId),
    requestId,
    payload: encodeConfigurationPush({ requestId, signature, signatureAlgorithm: algorithm, body }),
  };
}
