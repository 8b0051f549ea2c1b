/**
 * Certificate renewal (CERT-V1, docs/PROTOCOL.md §13) beside first provisioning, on one platform
 * process (platform/main.ts, as bench/end-to-end.ts starts it). Per round:
 *
 *   1. provisioning: N devices by agent-sim's fleet mode, TLS on both legs (as end to end);
 *   2. the same N devices read back, each given a new key and CSR (not measured), connected to the
 *      account broker with mutual TLS and subscribed to their CERT-V1 replies;
 *   3. renewal: each sends one renewal request and waits for its signed reply, `--concurrency` in
 *      flight (below PROVISIO_CERTIFICATE_RENEWAL_MAX_IN_FLIGHT, 64);
 *   4. switch: each disconnects and connects with its new certificate, whose first CONNECT
 *      revokes the old one (the settlement) before CONNACK.
 *
 * Platform CPU (all threads, from /proc) is read around each measured step; renewals are checked
 * after the window as an agent checks them (signature, chain, key).
 *
 *   tsx bench/renewal.ts [--devices 3000] [--rounds 3] [--concurrency 50] [--json out.json]
 */
import { readFile, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { summariseLatencies } from '../agent-sim/statistics.ts';
import { AdminApi } from '../platform/admin-api-client.ts';
import { runFleet } from './support/agent-sim-fleet.ts';
import { parseFlags } from './support/args.ts';
import { checkTarget, startRun, writeResult } from './support/output.ts';
import { startPlatformProcess, type PlatformProcess } from './support/platform-process.ts';
import { CpuMeter } from './support/proc-stats.ts';
import { checkRenewal, connectDevice, forEachLimited, loadDevices, renew, type RenewingDevice } from './support/renewing-devices.ts';
import { median, round } from './support/stats.ts';
import { printTable, type Cell } from './support/table.ts';
import { inMemoryBase, makeTempDir } from './support/temp-dirs.ts';

const flags = parseFlags('tsx bench/renewal.ts: CERT-V1 renewals per second and platform CPU per renewal, beside first provisioning', {
  devices: { default: 3000, help: 'devices provisioned and then renewed, split evenly over the rounds' },
  rounds: { default: 3, help: 'measured rounds' },
  warmup: { default: 200, help: 'devices provisioned, renewed and switched before the measured rounds' },
  concurrency: { default: 50, help: 'devices in flight at once (provisioning, renewals, connects); renewals beyond 64 in flight are answered 429' },
  profile: { default: '', help: 'directory: run the platform under node --cpu-prof and write the profile there' },
});

/** Issue 19: each new exchange (renewal, configuration push) at most 1 ms of platform CPU per device. */
const renewalCpuMsTarget = 1;
const replyTimeoutMs = 60_000;
const accountName = 'bench-renewal';

interface Step {
  readonly count: number;
  readonly failed: number;
  readonly perSecond: number;
  readonly cpuMs: number;
  readonly mainThreadCpuMs: number;
}

interface Round {
  readonly provisioning: Step;
  /** Mutual-TLS CONNECT with the provisioned certificate and the CERT-V1 SUBSCRIBE: what any reconnect costs. */
  readonly connect: Step;
  readonly renewal: Step & {
    readonly p50: number;
    readonly p99: number;
    readonly max: number;
    readonly clientCpuMs: number;
    readonly codes: Record<string, number>;
  };
  /** DISCONNECT, then mutual-TLS CONNECT with the new certificate (the settlement revokes the old one) and SUBSCRIBE. */
  readonly switch: Step;
}

/** CPU of the platform (and of this process, the devices) around `work`, per item counted. */
async function measured(platform: PlatformProcess, work: () => Promise<{ count: number; failed: number }>): Promise<Step & { clientCpuMs: number }> {
  const meter = new CpuMeter(platform.pid);
  const client = process.cpuUsage();
  const { count, failed } = await work();
  const { cpuSeconds, mainThreadCpuSeconds, wallSeconds } = meter.read();
  const clientUsage = process.cpuUsage(client);
  const per = Math.max(1, count + failed);
  return {
    count,
    failed,
    perSecond: count / wallSeconds,
    cpuMs: (cpuSeconds * 1000) / per,
    mainThreadCpuMs: (mainThreadCpuSeconds * 1000) / per,
    clientCpuMs: (clientUsage.user + clientUsage.system) / 1000 / per,
  };
}

async function oneRound(
  platform: PlatformProcess,
  api: AdminApi,
  accountId: string,
  workDir: string,
  flashDir: string,
  name: string,
  count: number,
): Promise<Round> {
  const rootCa = await readFile(platform.rootCaFile, 'utf8');
  const clientIds = Array.from({ length: count }, (_, i) => `bench-renew-${name}-${String(i).padStart(6, '0')}`);
  const credentialsFile = path.join(workDir, `${name}.json`);
  await writeFile(credentialsFile, JSON.stringify(await api.createRequests(accountId, clientIds)));
  const stateRoot = path.join(flashDir, `state-${name}`);

  // 1. First provisioning, as bench/end-to-end.ts measures it.
  let devices: RenewingDevice[];
  let provisioning: Step;
  try {
    const step = await measured(platform, async () => {
      const run = await runFleet({
        credentialsFile,
        rootCaFile: platform.rootCaFile,
        brokerUrl: `mqtts://localhost:${platform.provisionTlsPort}`,
        count,
        concurrency: flags.concurrency,
        stateRoot,
      });
      if (run.summary.failed > 0) process.stderr.write(`  provisioning failures: ${JSON.stringify(run.summary.failuresByReason)}\n`);
      return { count: run.summary.provisioned, failed: run.summary.failed };
    });
    provisioning = step;
    // 2. Not measured: each device's new key and CSR.
    devices = await loadDevices(stateRoot, clientIds, accountName);
  } finally {
    await rm(stateRoot, { recursive: true, force: true });
  }

  try {
    const connect = await measured(platform, async () => {
      let failed = 0;
      await forEachLimited(devices, flags.concurrency, async (device) => {
        device.client = await connectDevice(platform.accountTlsPort, rootCa, device, device).catch(() => {
          failed++;
          return undefined;
        });
      });
      return { count: devices.length - failed, failed };
    });
    const online = devices.filter((device) => device.client);

    // 3. The renewal exchange.
    const codes: Record<string, number> = {};
    const renewal = await measured(platform, async () => {
      let failed = 0;
      await forEachLimited(online, flags.concurrency, (device) =>
        renew(device, replyTimeoutMs).catch((error: unknown) => {
          failed++;
          codes[(error as Error).message] = (codes[(error as Error).message] ?? 0) + 1;
        }),
      );
      return { count: online.length - failed, failed };
    });
    // Checked as an agent checks them, outside the window.
    const renewed: { device: RenewingDevice; certPem: string }[] = [];
    for (const device of online) {
      if (!device.reply) continue;
      codes[String(device.reply.responseCode)] = (codes[String(device.reply.responseCode)] ?? 0) + 1;
      try {
        renewed.push({ device, certPem: checkRenewal(device, rootCa) });
      } catch (error) {
        codes[`not accepted: ${(error as Error).message}`] = (codes[`not accepted: ${(error as Error).message}`] ?? 0) + 1;
      }
    }
    const latencies = summariseLatencies(online.flatMap((device) => (device.latencyMs === undefined ? [] : [device.latencyMs])));

    // 4. The switch to the new certificate.
    const switched = await measured(platform, async () => {
      let failed = 0;
      await forEachLimited(renewed, flags.concurrency, async ({ device, certPem }) => {
        await device.client?.endAsync();
        device.client = await connectDevice(platform.accountTlsPort, rootCa, device, { certPem, keyPem: device.newKey }).catch(() => {
          failed++;
          return undefined;
        });
      });
      return { count: renewed.length - failed, failed };
    });
    return {
      provisioning,
      connect,
      renewal: {
        ...renewal,
        // Only renewals whose reply passed the checks count as done.
        perSecond: (renewal.perSecond * renewed.length) / Math.max(1, renewal.count),
        count: renewed.length,
        failed: online.length - renewed.length,
        p50: round(latencies.p50),
        p99: round(latencies.p99),
        max: round(latencies.max),
        codes,
      },
      switch: switched,
    };
  } finally {
    await forEachLimited(devices, flags.concurrency, async (device) => {
      await device.client?.endAsync(true);
    });
  }
}

async function main(): Promise<void> {
  const context = startRun();
  const perRound = Math.max(1, Math.floor(flags.devices / flags.rounds));
  const workDir = makeTempDir('provisio-bench-renewal-');
  const flashDir = makeTempDir('provisio-bench-renewal-flash-', inMemoryBase());
  let platform: PlatformProcess | null = null;
  try {
    platform = await startPlatformProcess(flags.profile ? { nodeArgs: ['--cpu-prof', '--cpu-prof-dir', path.resolve(flags.profile)] } : {});
    const api = new AdminApi(platform.apiUrl, platform.adminToken);
    const accountId = await api.createAccount(accountName);
    // What the platform spends doing nothing (timers, sweeps), for judging the per-operation figures on a busy machine.
    const idleMeter = new CpuMeter(platform.pid);
    await new Promise((resolve) => setTimeout(resolve, 3000));
    const idle = idleMeter.read();
    const idleCpuMsPerSecond = round((idle.cpuSeconds * 1000) / idle.wallSeconds);
    if (flags.warmup > 0) {
      process.stdout.write(`warm-up: ${flags.warmup} devices provisioned, renewed and switched…\n`);
      await oneRound(platform, api, accountId, workDir, flashDir, 'warmup', flags.warmup);
    }
    const rounds: Round[] = [];
    for (let r = 1; r <= flags.rounds; r++) {
      const result = await oneRound(platform, api, accountId, workDir, flashDir, `round-${r}`, perRound);
      rounds.push(result);
      process.stdout.write(
        `  round ${r}: provisioning ${result.provisioning.cpuMs.toFixed(2)} ms CPU/device (${result.provisioning.perSecond.toFixed(0)}/s); ` +
          `renewal ${result.renewal.count}/${perRound}, ${result.renewal.perSecond.toFixed(0)}/s, ${result.renewal.cpuMs.toFixed(2)} ms CPU/renewal; ` +
          `switch ${result.switch.cpuMs.toFixed(2)} ms; codes ${JSON.stringify(result.renewal.codes)}\n`,
      );
    }
    const m = (pick: (r: Round) => number): number => round(median(rounds.map(pick)));
    const spread = (pick: (r: Round) => number): [number, number] => [round(Math.min(...rounds.map(pick))), round(Math.max(...rounds.map(pick)))];
    const result = {
      devicesPerRound: perRound,
      idleCpuMsPerSecond,
      renewed: rounds.reduce((sum, r) => sum + r.renewal.count, 0),
      renewalFailed: rounds.reduce((sum, r) => sum + r.renewal.failed, 0),
      switchRefused: rounds.reduce((sum, r) => sum + r.switch.failed, 0),
      provisioningFailed: rounds.reduce((sum, r) => sum + r.provisioning.failed, 0),
      provisioningCpuMsPerDevice: m((r) => r.provisioning.cpuMs),
      provisioningCpuMsSpread: spread((r) => r.provisioning.cpuMs),
      provisioningPerSecond: m((r) => r.provisioning.perSecond),
      provisioningPerSecondPerCore: round(1000 / median(rounds.map((r) => r.provisioning.cpuMs))),
      connectCpuMs: m((r) => r.connect.cpuMs),
      renewalCpuMs: m((r) => r.renewal.cpuMs),
      renewalCpuMsSpread: spread((r) => r.renewal.cpuMs),
      renewalMainThreadCpuMs: m((r) => r.renewal.mainThreadCpuMs),
      renewalsPerSecond: m((r) => r.renewal.perSecond),
      renewalsPerSecondSpread: spread((r) => r.renewal.perSecond),
      renewalsPerSecondPerCore: round(1000 / median(rounds.map((r) => r.renewal.cpuMs))),
      renewalLatencyMs: { p50: m((r) => r.renewal.p50), p99: m((r) => r.renewal.p99), max: m((r) => r.renewal.max) },
      renewalClientCpuMs: m((r) => r.renewal.clientCpuMs),
      switchCpuMs: m((r) => r.switch.cpuMs),
      switchCpuMsSpread: spread((r) => r.switch.cpuMs),
      renewalWithSwitchCpuMs: m((r) => r.renewal.cpuMs + r.switch.cpuMs),
      rounds,
    };
    const rows: Record<string, Cell>[] = rounds.map((r, i) => ({
      round: i + 1,
      'provisioned/s': round(r.provisioning.perSecond),
      'provisioning CPU ms/device': round(r.provisioning.cpuMs),
      'mTLS connect CPU ms': round(r.connect.cpuMs),
      renewed: r.renewal.count,
      failed: r.renewal.failed,
      'renewals/s': round(r.renewal.perSecond),
      'renewal CPU ms': round(r.renewal.cpuMs),
      'of it main thread': round(r.renewal.mainThreadCpuMs),
      'p50 ms': r.renewal.p50,
      'p99 ms': r.renewal.p99,
      'device CPU ms/renewal': round(r.renewal.clientCpuMs),
      'switch CPU ms': round(r.switch.cpuMs),
    }));
    rows.push({
      round: 'median',
      'provisioned/s': result.provisioningPerSecond,
      'provisioning CPU ms/device': result.provisioningCpuMsPerDevice,
      'mTLS connect CPU ms': result.connectCpuMs,
      renewed: result.renewed,
      failed: result.renewalFailed,
      'renewals/s': result.renewalsPerSecond,
      'renewal CPU ms': result.renewalCpuMs,
      'of it main thread': result.renewalMainThreadCpuMs,
      'p50 ms': result.renewalLatencyMs.p50,
      'p99 ms': result.renewalLatencyMs.p99,
      'device CPU ms/renewal': result.renewalClientCpuMs,
      'switch CPU ms': result.switchCpuMs,
    });
    printTable(
      `Renewal beside first provisioning (${flags.rounds} rounds of ${perRound} devices, ${flags.concurrency} in flight, after ${flags.warmup} warm-up devices)`,
      rows,
    );
    process.stdout.write(
      `per platform core: ${result.renewalsPerSecondPerCore} renewals/s against ${result.provisioningPerSecondPerCore} first provisionings/s; ` +
        `renewal and switch together ${result.renewalWithSwitchCpuMs} ms of platform CPU per device; the idle platform used ${idleCpuMsPerSecond} ms of CPU per second\n`,
    );
    await writeResult(flags.json, context, {
      benchmark: 'renewal',
      parameters: { ...flags, json: undefined },
      results: result,
      targets: [
        checkTarget('platform CPU per renewal exchange (issue 19)', result.renewalCpuMs, renewalCpuMsTarget, 'ms', 'atMost'),
        checkTarget(
          'platform CPU per renewal with the switch to the new certificate (issue 19, strict reading)',
          result.renewalWithSwitchCpuMs,
          renewalCpuMsTarget,
          'ms',
          'atMost',
        ),
      ],
      notes: [
        'The devices run in this process (mqtt.js, mutual TLS); their new keys and CSRs are made before the renewal window. Their CPU per renewal is reported beside the platform’s.',
        'Renewal CPU divides by the renewals attempted; a renewal counts as done once its reply passes the checks an agent makes (signature, chain, key), run after the window.',
        'The switch is DISCONNECT, a mutual-TLS CONNECT with the new certificate (which revokes the old one before CONNACK) and the CERT-V1 SUBSCRIBE; compare it with the plain mTLS connect column.',
        'Platform log level warn.',
      ],
    });
  } finally {
    await platform?.stop();
    await rm(workDir, { recursive: true, force: true });
    await rm(flashDir, { recursive: true, force: true });
  }
}

await main();
