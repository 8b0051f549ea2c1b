/**
 * Bulk creation: provision requests created per second through the admin API's batch endpoint
 * (1,000 per batch, two batches in flight: the API answers 429 to a third), answered as the fleet
 * credential CSV. Platform CPU per request from /proc. Median of rounds after a warm-up.
 *
 *   tsx bench/bulk-create.ts [--requests 10000] [--rounds 5] [--json out.json] [--profile DIR]
 */
import path from 'node:path';
import { AdminApi, maxBatchSize, maxConcurrentBatches } from '../platform/admin-api-client.ts';
import { parseFlags } from './support/args.ts';
import { checkTarget, startRun, writeResult } from './support/output.ts';
import { startPlatformProcess, type PlatformProcess } from './support/platform-process.ts';
import { CpuMeter } from './support/proc-stats.ts';
import { median, round } from './support/stats.ts';
import { printTable } from './support/table.ts';

const flags = parseFlags('tsx bench/bulk-create.ts: provision requests created per second (batch API)', {
  requests: { default: 10_000, help: 'requests per round' },
  rounds: { default: 5, help: 'measured rounds' },
  warmup: { default: 2_000, help: 'requests created before the measured rounds' },
  profile: { default: '', help: 'directory: run the platform under node --cpu-prof and write the profile there' },
});

/** Issue 6: at least 5,000 provision requests created per second. */
const targetPerSecond = 5000;

async function main(): Promise<void> {
  const context = startRun();
  let platform: PlatformProcess | null = null;
  try {
    platform = await startPlatformProcess(flags.profile ? { nodeArgs: ['--cpu-prof', '--cpu-prof-dir', path.resolve(flags.profile)] } : {});
    const api = new AdminApi(platform.apiUrl, platform.adminToken);
    const accountId = await api.createAccount('bench-bulk');
    let serial = 0;
    const nextIds = (count: number): string[] => Array.from({ length: count }, () => `bench-bulk-${String(serial++).padStart(7, '0')}`);
    if (flags.warmup > 0) await api.createRequests(accountId, nextIds(flags.warmup));
    const rounds: { perSecond: number; cpuMsPerRequest: number; mainThreadCpuMsPerRequest: number; cores: number }[] = [];
    for (let r = 1; r <= flags.rounds; r++) {
      const meter = new CpuMeter(platform.pid);
      const created = await api.createRequests(accountId, nextIds(flags.requests));
      const { cpuSeconds, mainThreadCpuSeconds, wallSeconds } = meter.read();
      if (created.length !== flags.requests) throw new Error(`round ${r}: ${created.length} of ${flags.requests} created`);
      rounds.push({
        perSecond: created.length / wallSeconds,
        cpuMsPerRequest: (cpuSeconds * 1000) / created.length,
        mainThreadCpuMsPerRequest: (mainThreadCpuSeconds * 1000) / created.length,
        cores: cpuSeconds / wallSeconds,
      });
      process.stdout.write(`  round ${r}: ${Math.round(created.length / wallSeconds)} requests/s\n`);
    }
    const result = {
      perSecond: round(median(rounds.map((x) => x.perSecond))),
      platformCpuMsPerRequest: round(median(rounds.map((x) => x.cpuMsPerRequest))),
      platformMainThreadCpuMsPerRequest: round(median(rounds.map((x) => x.mainThreadCpuMsPerRequest))),
      platformCoresBusy: round(median(rounds.map((x) => x.cores))),
      rounds,
    };
    printTable(
      `Provision requests created through POST /provision-requests/batch (${flags.rounds} rounds of ${flags.requests}, batches of ${maxBatchSize}, ${maxConcurrentBatches} in flight, CSV answers)`,
      [
        {
          'requests/s': result.perSecond,
          'platform CPU ms/request': result.platformCpuMsPerRequest,
          'of it main thread': result.platformMainThreadCpuMsPerRequest,
          'platform cores busy': result.platformCoresBusy,
          rounds: rounds.map((x) => Math.round(x.perSecond)).join(' '),
        },
      ],
    );
    await writeResult(flags.json, context, {
      benchmark: 'bulk-create',
      parameters: { ...flags, json: undefined },
      results: result,
      targets: [checkTarget('provision requests created per second', result.perSecond, targetPerSecond, 'requests/s', 'atLeast')],
      notes: ['Each request gets a generated password, hashed as crypto/secret-hash.ts does for generated secrets; the store is the embedded SQLite.'],
    });
  } finally {
    await platform?.stop();
  }
}

await main();
