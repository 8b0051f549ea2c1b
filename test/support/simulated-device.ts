import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DeviceState } from '../../agent-sim/device-state.ts';
import { defaultSettings, type AgentSettings } from '../../agent-sim/settings.ts';
import type { MqttClient } from 'mqtt';
import { runDevice } from '../../agent-sim/device-agent.ts';
import { createAccountAndRequest, type CreatedRequest, type TestPlatform } from './platform-fixture.ts';

/** A factory-fresh agent-sim device for a provision request, its flash in a temporary directory. */
export async function newSimulatedDevice(
  fixture: TestPlatform,
  request: Pick<CreatedRequest, 'clientId' | 'username' | 'password' | 'activationKey'>,
  overrides: Partial<AgentSettings> = {},
): Promise<DeviceState> {
  const state = new DeviceState(await mkdtemp(join(tmpdir(), 'provisio-device-')));
  await state.initialise(
    {
      ...defaultSettings,
      'broker-url': `mqtts://localhost:${fixture.platform.provisionBroker.mqttsPort}`,
      'client-id': request.clientId,
      username: request.username,
      password: request.password,
      ...(request.activationKey ? { 'activation-key': request.activationKey } : {}),
      mac: request.clientId,
      serial: 'SN-1',
      timeout: 5_000,
      'retry-interval': 200,
      ...overrides,
    },
    fixture.rootPem,
  );
  return state;
}

/** A device of `account` provisioned by agent-sim and online on its account broker (throws otherwise). */
export async function onlineSimulatedDevice(
  fixture: TestPlatform,
  clientId: string,
  account = 'acme',
): Promise<{ request: CreatedRequest; state: DeviceState; client: MqttClient }> {
  const request = await createAccountAndRequest(fixture, clientId, { account });
  const state = await newSimulatedDevice(fixture, request);
  const result = await runDevice(state);
  if (result.status !== 'online') throw new Error(`${clientId} not online: ${result.status === 'failed' ? result.reason : result.status}`);
  return { request, state, client: result.accountClient };
}
