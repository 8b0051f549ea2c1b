import assert from 'node:assert/strict';
import { createPrivateKey } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import type { AedesPublishPacket, Client } from 'aedes';
import { badCredentialsWaitMs } from '../agent-sim/device-agent.ts';
import { runDevice } from '../agent-sim/device-agent.ts';
import { encodeReply, encodeReplyStatement } from '../protocol/messages.ts';
import { signBody } from '../protocol/signing.ts';
import { parseDeviceTopic, replyTopic } from '../protocol/topics.ts';
import { publishQos1 } from '../provisioner/aedes-transport.ts';
import { createAccountAndRequest, startTestPlatform, type TestPlatform } from './support/platform-fixture.ts';
import { newSimulatedDevice } from './support/simulated-device.ts';

/**
 * What a man in the middle on plain TCP can inject (issue 11 §1): an unsigned error reply and a
 * reply signed with a device's own certificate and key. agent-sim must ignore both and go on
 * waiting for the genuine reply (PROTOCOL.md §6), so it still provisions.
 */
describe('agent-sim ignores forged replies and provisions with the genuine one', () => {
  let fixture: TestPlatform;

  before(async () => {
    fixture = await startTestPlatform({ logLevel: 'warn' });
  });
  after(() => fixture.close());

  it('Should ignore an injected 401 and a 409 signed by another device, then install the genuine reply, over plain TCP', async () => {
    const victim = await createAccountAndRequest(fixture, 'forged-victim');
    // The attacker holds a genuine device certificate and key of the same platform.
    const attackerKey = await fixture.platform.ca.issueWithGeneratedKey({ clientId: 'attacker-device', account: 'acme' });
    const aedes = fixture.platform.provisionBroker.aedes;
    const forgedFor = new Set<string>();
    const inject = (packet: AedesPublishPacket, client: Client | null): void => {
      const parsed = parseDeviceTopic(packet.topic);
      if (!client || parsed?.clientId !== victim.clientId || parsed.rest.join('/') !== 'PROV-V1/EXEC/provision') return;
      const requestId = (JSON.parse(packet.payload.toString()) as { metrics: Record<string, string> }).metrics['request.id']!;
      if (forgedFor.has(requestId)) return;
      forgedFor.add(requestId);
      const topic = replyTopic(fixture.config.provisioningAccount, victim.clientId, requestId);
      // 1. An unsigned "give up".
      void publishQos1(aedes, topic, encodeReply({ requestId, responseCode: 401, message: 'ACTIVATION_KEY_INVALID' }));
      // 2. A "give up" signed with a device certificate that chains to the same root.
      const body = encodeReplyStatement({
        clientId: victim.clientId,
        requestId,
        responseCode: 409,
        message: 'REQUEST_WRONG_STATE',
        certificates: { signing: attackerKey.certPem, chain: [fixture.platform.ca.issuingCertificatePem, fixture.rootPem] },
      });
      const { signature, algorithm } = signBody(body, createPrivateKey(attackerKey.keyPem));
      void publishQos1(
        aedes,
        topic,
        encodeReply({ requestId, responseCode: 409, message: 'REQUEST_WRONG_STATE', signature, signatureAlgorithm: algorithm, body }),
      );
    };
    aedes.on('publish', inject);
    const steps: string[] = [];
    try {
      const state = await newSimulatedDevice(fixture, victim, {
        'broker-url': `mqtt://127.0.0.1:${fixture.platform.provisionBroker.mqttPort}`,
        'use-csr': true,
      });
      const result = await runDevice(state, { onStep: (step, detail) => steps.push(`${step} ${detail ?? ''}`) });
      assert.equal(result.status, 'online', steps.join('\n'));
      if (result.status === 'online') await result.accountClient.endAsync();
    } finally {
      aedes.off('publish', inject);
    }
    assert.ok(forgedFor.size >= 1, 'the forged replies were injected');
    assert.ok(
      steps.some((step) => /reply ignored: reply is not signed/.test(step)),
      steps.join('\n'),
    );
    assert.ok(
      steps.some((step) => /reply ignored: .*not the platform message signer/.test(step)),
      steps.join('\n'),
    );
    const stored = await fixture.platform.store.getProvisionRequest(victim.id);
    assert.equal(stored?.jobStatus, 'COMPLETED');
  });

  it('Should back off on CONNACK 4 as PROTOCOL.md §2 says: retry-interval, doubled, at most 300 s', () => {
    assert.deepEqual(
      [1, 2, 3, 4, 5, 6, 7, 8].map((streak) => badCredentialsWaitMs(10_000, streak)),
      [10_000, 20_000, 40_000, 80_000, 160_000, 300_000, 300_000, 300_000],
    );
    assert.equal(badCredentialsWaitMs(600_000, 3), 600_000, 'a retry-interval above the cap is kept');
  });
});
