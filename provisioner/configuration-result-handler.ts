import type { Logger } from '../log/logger.ts';
import { decodeConfigurationResult, platformConfigurationResultFilter, type ConfigurationResultMessage } from '../protocol/configuration.ts';
import { parseDeviceTopic } from '../protocol/topics.ts';
import type { Account, DeviceRecord } from '../store/types.ts';
import { audit } from './audit.ts';
import type { ProvisionerDependencies } from './dependencies.ts';
import { KeyedTokenBuckets } from './token-buckets.ts';
import type { ProvisioningTransport } from './transport.ts';
import { configurationResults } from '../metrics/metrics.ts';

type ResultDependencies = Pick<ProvisionerDependencies, 'store' | 'rateLimits' | 'log' | 'maxMessageBytes'>;

/** Results one device may send at once before they are dropped, then one per birth interval. */
const resultBurst = 4;

/**
 * A device's answer to a configuration push (CONF-V1 EXEC/result): applied, with the hash it now
 * runs (the registry's reported hash; APPLIED when it is the expected one), or refused with the
 * device's reason (REFUSED, shown per device; the platform does not send the same configuration
 * again). A result about another configuration than the one the platform now holds (an older
 * push answered late) changes only the reported hash. Results are bounded per device like births.
 */
export async function startConfigurationResultHandler(deps: ResultDependencies, transport: ProvisioningTransport): Promise<{ close(): Promise<void> }> {
  const log: Logger = deps.log.child({ component: 'configuration-result' });
  const pending = new Set<Promise<void>>();
  const allowance = new KeyedTokenBuckets(resultBurst, deps.rateLimits.birthIntervalSeconds * 1000);

  async function record(account: Account, device: DeviceRecord, result: ConfigurationResultMessage): Promise<void> {
    const current = result.configurationHash === device.expectedConfigurationHash;
    const base = { actor: device.clientId, accountId: account.id, clientId: device.clientId, provisionRequestId: null };
    configurationResults.inc({ result: result.result });
    if (result.result === 'APPLIED') {
      await deps.store.upsertDevice(account.id, device.clientId, {
        reportedConfigurationHash: result.configurationHash,
        ...(current ? { configurationState: 'APPLIED' as const, configurationError: null } : {}),
      });
      await audit(deps.store, log, {
        ...base,
        type: 'device.configuration.applied',
        outcome: 'success',
        detail: { requestId: result.requestId, sha256: result.configurationHash, current },
      });
      return;
    }
    if (current) await deps.store.upsertDevice(account.id, device.clientId, { configurationState: 'REFUSED', configurationError: result.errorMessage ?? null });
    await audit(deps.store, log, {
      ...base,
      type: 'device.configuration.refused',
      outcome: 'failure',
      detail: { requestId: result.requestId, sha256: result.configurationHash, current, error: result.errorMessage ?? null },
    });
  }

  async function handle(accountName: string, clientId: string, payload: Buffer): Promise<void> {
    let result: ConfigurationResultMessage;
    try {
      result = decodeConfigurationResult(payload, deps.maxMessageBytes);
    } catch (error) {
      log.warn({ clientId, account: accountName, reason: (error as Error).message }, 'configuration result not handled');
      return;
    }
    const account = await deps.store.getAccountByName(accountName);
    if (!account) return;
    const device = await deps.store.getDevice(account.id, clientId);
    if (!device) return;
    await record(account, device, result);
  }

  await transport.start([platformConfigurationResultFilter], (topic, payload) => {
    const parsed = parseDeviceTopic(topic);
    if (!parsed) return;
    if (allowance.take(`${parsed.account}/${parsed.clientId}`) > 0) return;
    const work = handle(parsed.account, parsed.clientId, payload)
      .catch((error: unknown) => log.warn({ err: error, clientId: parsed.clientId }, 'configuration result not handled'))
      .finally(() => pending.delete(work));
    pending.add(work);
  });
  return {
    async close() {
      await Promise.allSettled([...pending]);
      await transport.close();
    },
  };
}
