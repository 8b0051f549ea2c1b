import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runDevice } from '../agent-sim/device-agent.ts';
import { DeviceState } from '../agent-sim/device-state.ts';
import { settingsFor } from '../agent-sim/settings.ts';
import { connackOf, createAccountAndRequest, startTestPlatform, type TestPlatform } from './support/platform-fixture.ts';
import { runAgentSimCli } from './support/agent-sim-cli.ts';

/**
 * The protocol's default user name is the clientId: the admin API gives a request that user name
 * when the operator names none, and agent-sim (the reference agent) connects with it when its
 * settings name none. ESF's own default, MAC-serial, matched no such request (CONNACK 4).
 */
describe('agent-sim: default settings', () => {
  it('Should derive the client id from the MAC (upper case, no colons) and use it as the user name', () => {
    const settings = settingsFor({ mac: 'aa:bb:cc:00:11:22', serial: 'SN-1', password: 'secret' });
    assert.equal(settings['client-id'], 'AABBCC001122');
    assert.equal(settings.username, 'AABBCC001122');
    assert.equal(settings.serial, 'SN-1');
  });

  it('Should use a given client id as the user name', () => {
    const settings = settingsFor({ mac: 'aa:bb:cc:00:11:22', serial: 'SN-1', password: 'secret', 'client-id': 'gateway-7' });
    assert.equal(settings['client-id'], 'gateway-7');
    assert.equal(settings.username, 'gateway-7');
  });

  it('Should keep a given user name', () => {
    const settings = settingsFor({ mac: 'aa:bb:cc:00:11:22', serial: 'SN-1', password: 'secret', username: 'AABBCC001122-SN-1' });
    assert.equal(settings['client-id'], 'AABBCC001122');
    assert.equal(settings.username, 'AABBCC001122-SN-1');
  });

  it('Should treat a client id or user name given as undefined as not given', () => {
    const settings = settingsFor({ mac: 'aa:bb:cc:00:11:22', serial: 'SN-1', password: 'secret', 'client-id': undefined, username: undefined });
    assert.equal(settings['client-id'], 'AABBCC001122');
    assert.equal(settings.username, 'AABBCC001122');
  });
});

describe('agent-sim: a device on default settings against a request created without a user name', () => {
  let fixture: TestPlatform;
  let workDir: string;
  before(async () => {
    fixture = await startTestPlatform();
    workDir = await mkdtemp(join(tmpdir(), 'provisio-default-username-'));
  });
  after(async () => {
    await fixture.close();
    await rm(workDir, { recursive: true, force: true });
  });

  /** A factory-fresh device whose settings come from settingsFor: nothing but what is given here. */
  async function deviceWith(given: { mac: string; serial: string; password: string; 'client-id'?: string }): Promise<DeviceState> {
    const state = new DeviceState(await mkdtemp(join(workDir, 'device-')));
    const settings = settingsFor({
      ...given,
      // Where this test platform listens, and fast enough for a test; nothing about credentials.
      'broker-url': `mqtts://localhost:${fixture.platform.provisionBroker.mqttsPort}`,
      timeout: 5_000,
      'retry-interval': 200,
      'retry-max-attempts': 1,
    });
    await state.initialise(settings, fixture.rootPem);
    return state;
  }

  it('Should provision end to end with the client id derived from the MAC', async () => {
    const request = await createAccountAndRequest(fixture, 'AABBCC001122');
    assert.equal(request.username, 'AABBCC001122', 'the API defaults the user name to the clientId');
    const state = await deviceWith({ mac: 'aa:bb:cc:00:11:22', serial: 'SN-1', password: request.password });
    const result = await runDevice(state);
    assert.equal(result.status, 'online', result.status === 'failed' ? result.reason : '');
    if (result.status === 'online') await result.accountClient.endAsync();
    assert.equal((await fixture.platform.store.getProvisionRequest(request.id))?.jobStatus, 'COMPLETED');
  });

  it('Should provision end to end with a given client id, and ESF MAC-serial would have been refused', async () => {
    const request = await createAccountAndRequest(fixture, 'gateway-7');
    assert.equal(request.username, 'gateway-7');
    assert.equal(
      await connackOf(fixture.connectProvision({ clientId: 'gateway-7', username: '001122334455-SN-2', password: request.password })),
      4,
      'the old default user name (MAC-serial) matches no request the API created by default',
    );
    const state = await deviceWith({ mac: '00:11:22:33:44:55', serial: 'SN-2', password: request.password, 'client-id': 'gateway-7' });
    const result = await runDevice(state);
    assert.equal(result.status, 'online', result.status === 'failed' ? result.reason : '');
    if (result.status === 'online') await result.accountClient.endAsync();
    assert.equal((await fixture.platform.store.getProvisionRequest(request.id))?.jobStatus, 'COMPLETED');
  });

  it('Should provision from the command line with only --client-id and --password given', async () => {
    const request = await createAccountAndRequest(fixture, 'cli-default-user');
    const rootFile = join(workDir, 'root.pem');
    await writeFile(rootFile, fixture.rootPem);
    const run = await runAgentSimCli([
      'device',
      '--state-dir',
      join(workDir, 'cli-device'),
      '--json',
      '--root-ca',
      rootFile,
      '--broker-url',
      `mqtts://localhost:${fixture.platform.provisionBroker.mqttsPort}`,
      '--retry-max-attempts',
      '1',
      '--client-id',
      request.clientId,
      '--password',
      request.password,
    ]);
    assert.equal(run.code, 0, run.stderr + run.stdout);
    const summary = JSON.parse(run.stdout) as { status: string; provisionedNow: boolean; clientId: string };
    assert.deepEqual([summary.status, summary.provisionedNow, summary.clientId], ['online', true, 'cli-default-user']);
  });
});
