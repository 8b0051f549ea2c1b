import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { refuseConfigurationsReason } from '../agent-sim/configuration-exchange.ts';
import { runDevice } from '../agent-sim/device-agent.ts';
import type { DeviceState } from '../agent-sim/device-state.ts';
import { recordEarlyMessages, stayOnline, type EarlyMessages, type OnlineEvent, type OnlineReport } from '../agent-sim/online-session.ts';
import { configurationHash } from '../protocol/configuration-hash.ts';
import { createAccountAndRequest, startTestPlatform, type TestPlatform } from './support/platform-fixture.ts';
import { eventually } from './support/security-kit.ts';
import { newSimulatedDevice } from './support/simulated-device.ts';

/**
 * agent-sim's side of CONF-V1 (docs/PROTOCOL.md §14): a device staying online applies a pushed
 * configuration (its state directory holds it, the registry shows APPLIED and the device's next
 * birth reports it), and with --refuse-configurations answers REFUSED with its reason.
 */

const account = 'sim-conf';

interface LiveAgent {
  readonly state: DeviceState;
  readonly events: { event: OnlineEvent; detail?: string }[];
  leave(): Promise<OnlineReport>;
}

describe('agent-sim applies, acknowledges or refuses pushed configurations (CONF-V1)', () => {
  let fixture: TestPlatform;
  let accountId: string;
  let configurationId: string;
  const agents: LiveAgent[] = [];

  async function liveAgent(clientId: string, refuseConfigurations: boolean): Promise<LiveAgent> {
    const request = await createAccountAndRequest(fixture, clientId, { account, extra: { category: 'meters' } });
    const state = await newSimulatedDevice(fixture, request);
    let early: EarlyMessages | undefined;
    const result = await runDevice(state, { onAccountConnected: (client) => void (early = recordEarlyMessages(client)) });
    assert.equal(result.status, 'online', result.status === 'failed' ? result.reason : result.status);
    if (result.status !== 'online') throw new Error('not online');
    const events: LiveAgent['events'] = [];
    const stop = new AbortController();
    const staying = stayOnline(state, result.accountClient, {
      signal: stop.signal,
      ...(early ? { early } : {}),
      refuseConfigurations,
      onEvent: (event, detail) => void events.push({ event, ...(detail !== undefined ? { detail } : {}) }),
    });
    await eventually(
      () => fixture.platform.store.getDevice(accountId, clientId),
      (device) => device?.online === true,
      `${clientId} online`,
    );
    const agent = {
      state,
      events,
      leave: () => {
        stop.abort();
        return staying;
      },
    };
    agents.push(agent);
    return agent;
  }

  before(async () => {
    fixture = await startTestPlatform({ birthIntervalSeconds: 1 });
    accountId = (await fixture.api<{ id: string }>('POST', '/accounts', { name: account })).body.id;
    configurationId = (await fixture.api<{ id: string }>('POST', '/configurations', { accountId, name: 'meter-conf', content: { rate: 10 } })).body.id;
    assert.equal((await fixture.api('POST', '/categories', { accountId, name: 'meters', configurationId })).status, 201);
  });
  after(async () => {
    await Promise.all(agents.map((agent) => agent.leave()));
    await fixture.close();
  });

  it('applies the edited configuration, says APPLIED and births with its hash; a refusing agent says REFUSED with its reason', async () => {
    const applier = await liveAgent('sim-c1', false);
    const refuser = await liveAgent('sim-c2', true);
    const edit = await fixture.api('PATCH', `/configurations/${configurationId}`, { version: 1, content: { rate: 20 } });
    assert.equal(edit.status, 200, JSON.stringify(edit.body));
    const content = JSON.stringify({ rate: 20 });
    const hash = configurationHash(content);

    const applied = await eventually(
      () => fixture.platform.store.getDevice(accountId, 'sim-c1'),
      (device) => device?.configurationState === 'APPLIED' && device.reportedConfigurationHash === hash,
      'sim-c1 applied the new configuration',
    );
    assert.equal(applied?.expectedConfigurationHash, hash);
    assert.equal(await readFile(join(applier.state.directory, 'configuration.json'), 'utf8'), content, 'the state directory holds the new configuration');
    assert.ok(applier.events.some((entry) => entry.event === 'configuration-applied' && entry.detail === hash));
    // Its birth after applying reported the new hash too (the birth is audited with it).
    await eventually(
      () => fixture.platform.store.listAudit({ accountId, clientId: 'sim-c1', type: 'device.birth' }),
      (page) => page.items.some((event) => event.detail['configurationHash'] === hash),
      'a birth with the new hash',
    );

    const refused = await eventually(
      () => fixture.platform.store.getDevice(accountId, 'sim-c2'),
      (device) => device?.configurationState === 'REFUSED',
      'sim-c2 refused',
    );
    assert.equal(refused?.configurationError, refuseConfigurationsReason);
    assert.notEqual(refused?.reportedConfigurationHash, hash);
    assert.equal(await readFile(join(refuser.state.directory, 'configuration.json'), 'utf8'), JSON.stringify({ rate: 10 }), 'nothing applied');
    assert.ok(refuser.events.some((entry) => entry.event === 'configuration-refused'));
  });
});
