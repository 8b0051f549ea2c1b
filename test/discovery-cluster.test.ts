import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { loadConfig } from '../config/config.ts';
import { startCluster, type Cluster } from '../dev-support/cluster.ts';
import { startRedisOrSkip, type RedisServer } from '../dev-support/redis-server.ts';
import { openStore } from '../store/open-store.ts';
import type { ProvisionStore } from '../store/types.ts';
import { issueFactoryCertificate, makeManufacturerCa } from './support/factory-certificates.ts';
import { askDiscovery } from './support/discovery-request.ts';
import { createGroup, registerManufacturerCa } from './support/zero-touch-kit.ts';

/**
 * Discovery in a cluster (docs/OPERATIONS.md, Discovery): every API process serves it on a port
 * of its own, from the shared Redis store, with the server certificate of the shared CA, and
 * sends factory devices to PROVISIO_PROVISION_BROKER_URL (an API process does not know where the
 * brokers listen).
 */

const provisionBrokerUrl = 'mqtts://provision.cluster.example:8883';

describe('discovery on the API processes of a cluster', () => {
  let redis: RedisServer | null;
  let cluster: Cluster | undefined;
  let store: ProvisionStore | undefined;

  before(async () => {
    redis = await startRedisOrSkip();
    if (!redis) return;
    cluster = await startCluster({ redisUrl: redis.url, brokers: 1, provisioners: 1, apis: 2, env: { PROVISIO_PROVISION_BROKER_URL: provisionBrokerUrl } });
    store = await openStore(loadConfig({}, { storeBackend: 'redis', redisUrl: redis.url, dataDir: cluster.dataDir }));
  });
  after(async () => {
    await store?.close();
    await cluster?.close();
    await redis?.stop();
  });

  it('Should answer on each API process from the shared store, sending factory devices to PROVISIO_PROVISION_BROKER_URL', async (t) => {
    if (!cluster || !store) return t.skip('redis-server is not installed');
    const rootPem = await readFile(cluster.rootCaFile, 'utf8');
    const maker = makeManufacturerCa('Cluster Maker CA');
    const makerCa = await registerManufacturerCa(store, maker);
    const account = await store.createAccount({ name: 'cluster-acme', brokerUrl: null, configurationTemplate: {}, defaultBundleIds: [] });
    const group = await createGroup(store, { name: 'cluster meters', accountId: account.id, manufacturerCaId: makerCa.id });
    const device = issueFactoryCertificate(maker, 'cfd-0001', 0x2001);
    const apis = cluster.processes.filter((process) => process.kind === 'api');
    assert.equal(apis.length, 2);
    const ports = apis.map((api) => Number(api.endpoints['discovery']));
    assert.equal(new Set(ports).size, 2, 'each API process on a port of its own');
    for (const port of ports) {
      const answer = await askDiscovery(port, rootPem, device);
      assert.equal(answer.status, 200, JSON.stringify(answer.body));
      assert.deepEqual(answer.body, {
        clientId: 'cfd-0001',
        kind: 'provision',
        brokerUrl: provisionBrokerUrl,
        account: 'cluster-acme',
        enrollmentGroup: { id: group.id, name: 'cluster meters' },
      });
      assert.ok(answer.server.checkHost('localhost'), "the brokers' server certificate");
    }
    const audit = await store.listAudit({ clientId: 'cfd-0001', type: 'discovery.answered' });
    assert.equal(audit.items.length, 2, 'one audit event per answer');
  });
});
