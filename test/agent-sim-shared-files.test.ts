import assert from 'node:assert/strict';
import { readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { DeviceState } from '../agent-sim/device-state.ts';
import { makeDeviceKey } from '../agent-sim/provisioning-flow.ts';
import { settingsFor } from '../agent-sim/settings.ts';
import { SharedFiles } from '../agent-sim/shared-files.ts';
import type { CertificateAuthority } from '../certs/certificate-authority.ts';
import { configurationHash } from '../protocol/configuration-hash.ts';
import { createCertificateSigningRequest } from '../protocol/csr.ts';
import type { ProvisionResult } from '../protocol/messages.ts';
import { openTestCa, removeTemporaryDirectories, temporaryDirectory } from './support/ca-test-kit.ts';

async function provisionResult(ca: CertificateAuthority, clientId: string): Promise<{ result: ProvisionResult; keyPem: string }> {
  const key = makeDeviceKey();
  const issued = await ca.issueFromCsr(createCertificateSigningRequest(clientId, key), { clientId, account: 'acme' });
  const content = JSON.stringify({ device: clientId });
  return {
    keyPem: key.export({ type: 'pkcs8', format: 'pem' }).toString(),
    result: {
      clientId,
      requestId: 'request-1',
      account: 'acme',
      issuedOn: Date.now(),
      certificates: { client: issued.certPem, chain: [ca.issuingCertificatePem, ca.rootCertificatePem], signing: ca.signingCredentials.certPem },
      configuration: { content, sha256: configurationHash(content) },
      bundles: [],
      next: { brokerUrl: 'mqtts://localhost:8884', clientId, account: 'acme', auth: 'client-certificate' },
    },
  };
}

/** The flash of a fleet's devices: every file in every device's directory, identical ones stored once. */
describe('agent-sim fleet flash with shared files', () => {
  let ca: CertificateAuthority;
  let renewed: CertificateAuthority;
  let root: string;
  const devices: DeviceState[] = [];

  before(async () => {
    ca = await openTestCa(await temporaryDirectory());
    renewed = await openTestCa(await temporaryDirectory());
    root = await temporaryDirectory('agent-sim-fleet-flash-');
    const shared = new SharedFiles(join(root, '@shared'));
    for (const clientId of ['flash-0', 'flash-1', 'flash-2']) {
      const state = new DeviceState(join(root, clientId), { shared });
      await state.initialise(settingsFor({ mac: clientId, serial: '1', password: 'secret' }), ca.rootCertificatePem);
      const { result, keyPem } = await provisionResult(ca, clientId);
      await state.saveProvisioning(result, keyPem);
      devices.push(state);
    }
  });
  after(removeTemporaryDirectories);

  it('Should give every device all its files, with its own certificate and key', async () => {
    for (const [index, state] of devices.entries()) {
      assert.equal(await state.trustedRoot(), ca.rootCertificatePem);
      assert.equal(await readFile(join(state.directory, 'chain.pem'), 'utf8'), ca.issuingCertificatePem + ca.rootCertificatePem);
      assert.equal(await readFile(join(state.directory, 'signing.pem'), 'utf8'), ca.signingCredentials.certPem);
      const credentials = await state.accountCredentials();
      assert.equal(credentials.next.clientId, `flash-${index}`);
      assert.equal(credentials.configurationHash, configurationHash(JSON.stringify({ device: `flash-${index}` })));
      assert.equal((await stat(join(state.directory, 'client.key'))).mode & 0o777, 0o600);
      assert.equal((await stat(join(state.directory, 'root-ca.pem'))).mode & 0o777, 0o644);
    }
  });

  it('Should store the root, the chain and the signing certificate once for the whole fleet', async () => {
    for (const name of ['root-ca.pem', 'chain.pem', 'signing.pem']) {
      const stats = await Promise.all(devices.map((state) => stat(join(state.directory, name))));
      assert.equal(new Set(stats.map((s) => s.ino)).size, 1, `${name}: one copy`);
      assert.equal(stats[0]!.nlink, devices.length + 1, `${name}: one link per device and the fleet's copy`);
    }
    const own = await Promise.all(devices.map((state) => stat(join(state.directory, 'client.pem'))));
    assert.equal(new Set(own.map((s) => s.ino)).size, devices.length, 'each device its own certificate');
  });

  it('Should change only the device that is provisioned again, and keep the others on factory reset', async () => {
    const [first, second, third] = devices as [DeviceState, DeviceState, DeviceState];
    const again = await provisionResult(renewed, 'flash-0');
    await first.saveProvisioning(again.result, again.keyPem);
    assert.equal(await readFile(join(first.directory, 'signing.pem'), 'utf8'), renewed.signingCredentials.certPem);
    assert.equal(await readFile(join(second.directory, 'signing.pem'), 'utf8'), ca.signingCredentials.certPem);

    await second.factoryReset(await second.settings());
    await assert.rejects(readFile(join(second.directory, 'chain.pem')), { code: 'ENOENT' });
    assert.equal(await readFile(join(third.directory, 'chain.pem'), 'utf8'), ca.issuingCertificatePem + ca.rootCertificatePem);
    assert.equal(await second.trustedRoot(), ca.rootCertificatePem, 'the factory root stays');
  });
});
