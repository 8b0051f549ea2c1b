import { existsSync } from 'node:fs';
import { mkdtemp, readFile } from 'node:fs/promises';
import { constants, tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { CannotStartError, integer, options, settingOverrides, toStart, UsageError, type Values } from './cli-options.ts';
import { deviceOnboarding, fleetDevices, onboardingMethod } from './cli-onboarding.ts';
import { runDevice } from './device-agent.ts';
import { DeviceState } from './device-state.ts';
import { runFleet, type FleetSummary } from './fleet.ts';
import { closeWithin } from './mqtt-waits.ts';
import { recordEarlyMessages, stayOnline, type EarlyMessages, type OnlineReport } from './online-session.ts';
import { ProgressBar } from './progress-bar.ts';

/** What agent-sim's exit code says (listed in --help). */
export const exitCodes = {
  /** Every device is online on its account broker. */
  online: 0,
  /** At least one device is not online: the summary says why. */
  failed: 1,
  /** A bad command line or setting. */
  usage: 2,
  /** Could not start: a file could not be read or a directory made. */
  cannotStart: 3,
  /** A bug of agent-sim: an unexpected error, or it stopped with its work unfinished. */
  internal: 4,
  /** Stopped by SIGINT (130) or SIGTERM (143) after its summary: 128 + the signal's number. */
  stoppedBase: 128,
} as const;

const usage = `agent-sim: the reference device agent (docs/PROTOCOL.md)

  agent-sim device --state-dir DIR [settings] [--factory-reset] [--json]
      One device. Its state directory is its flash: a provisioned device goes straight to its
      account broker. A new device needs --root-ca and one of --password, --factory-cert with
      --factory-key, or --code (given again, they make the device anew in DIR).
  agent-sim fleet (--credentials FILE.csv|FILE.json | --factory-credentials-dir DIR | --codes-file FILE)
        --root-ca FILE [--count N] [--concurrency C] [--state-root DIR] [settings] [--json]
      Many devices, credentials from the admin API's CSV export or a JSON file. Each keeps its
      state in DIR/{clientId} (default: a new temporary directory); the CA files every device
      gets are hard links to one copy in DIR/@shared.

Settings (ESF names): --broker-url URL  --account-name NAME  --client-id ID  --username U
  --password P  --activation-key K  --mac MAC  --serial S  --timeout MS  --retry-interval MS
  --retry-max-attempts N (-1 = forever)  --root-ca FILE  --no-ca-authentication  --no-csr
  The client id defaults to the MAC without ':', the user name to the client id (as the admin
  API creates a request without one).
  Every wait (CONNACK, SUBACK, PUBACK, reply, bundle download, closing) lasts --timeout at most,
  and ends in a retry every --retry-interval or, after --retry-max-attempts, in a failure.
  SIGINT or SIGTERM stops the devices where they are; the fleet then prints its summary.

Zero-touch onboarding (docs/PROTOCOL.md §17-§19):
  --factory-cert FILE --factory-key FILE
                          device: the certificate (PEM) a manufacturer CA signed and its key, as
                          the factory gave them. The device connects to the provision broker
                          over mqtts with them as its TLS client certificate, no user name or
                          password; its client id is the certificate's subject CN. Kept in DIR
                          (factory-cert.pem, factory-key.pem) beside root-ca.pem.
  --factory-credentials-dir DIR
                          fleet: DIR/{clientId}.crt and DIR/{clientId}.key for each device,
                          taken in the order of their names; a CN other than the file's name
                          is an error
  --code CODE             device: a provisioning code (1234-5678-9012; spaces and dashes are
                          allowed): CONNECT user name 'provisioning-code', password the code as
                          given. The client id is --client-id, or the one the device had, or a
                          new MAC-like 02:xx:xx:xx:xx:xx (the derived one with --mac)
  --codes-file FILE       fleet: the admin API's provisioning codes (CSV with id and code
                          columns, or its JSON), one device per code, its client id a MAC-like
                          02:xx:xx:xx:xx:xx made from the code's id (the same on every run)
  --discovery-url https://HOST:PORT
                          with factory certificates: on first boot (no certificate provisioned
                          yet) the device asks GET /discovery/v1/assignment there, presenting its
                          factory certificate and trusting --root-ca, and provisions on the
                          broker it answers in place of --broker-url; retried like provisioning.
                          A provisioned device asks with its own certificate and follows its
                          account broker when that moved. Kept in the device's settings.
  --factory-reset         device: forget what it learnt (its certificates and keys, chain,
                          configuration, account, renewal, bundles) and keep what the factory
                          gave (settings, root, factory certificate and key) and the roots it
                          learnt; prints what it removed, then boots as new
  A device prints 'device ID (password|factory certificate|provisioning code…)' first, then
  '  discovery: …', '  factory-reset: removed …' and each step, and 'device ID is online on URL'.

Staying online (device and fleet; without these a device leaves after its birth message):
  --stay-online SECONDS   stay on the account broker this long after the birth, renewing the
                          certificate when due (CERT-V1) or when told to (renew now), connecting
                          again when the connection is lost, provisioning again when the
                          certificate has expired
  --renewals N            leave after N renewals (with --stay-online: whichever comes first;
                          alone: no time limit, SIGINT ends it)
  --renewal-jitter-max-seconds S
                          renew at most S seconds after renewal.after (default: anywhere in the
                          first half of what is left of the validity after it, as the protocol
                          says; shorter for tests)
  A renewal that fails is retried with the same request.id and key every --retry-interval (or
  after retry.after.seconds). The fleet's progress line and summary count renewals, their
  failures by reason and their latency (first request to the birth on the new certificate).
  A device staying online carries out the update jobs it is sent (JOB-V1): downloads and checks
  each bundle, applies the configuration, reports DOWNLOADING then INSTALLED or FAILED.
  --fail-jobs             report every update job FAILED ('refused by --fail-jobs'), to test
                          the platform's failure path
  It also applies the configurations pushed to it (CONF-V1): stores the configuration, answers
  APPLIED with its hash and sends a birth with it.
  --refuse-configurations answer every configuration push REFUSED ('refused by
                          --refuse-configurations'), to test the platform's refusal path

Exit codes:
  0    every device online (and, staying online, every one left with the renewals asked for)
  1    a device did not come online, or did not renew as often as asked (the summary says why)
  2    bad command line or setting
  3    could not start (a file could not be read, a directory not made)
  4    internal error of agent-sim
  130  stopped by SIGINT, 143 by SIGTERM (after the summary)
`;

/** --stay-online, --renewals, --renewal-jitter-max-seconds, --fail-jobs; undefined when the device leaves after its birth. */
function stayOptions(
  values: Values,
): { renewals?: number; durationMs?: number; jitterMaxMs?: number; failJobs?: boolean; refuseConfigurations?: boolean } | undefined {
  const seconds = integer(values['stay-online'], 'stay-online', 0);
  const renewals = integer(values.renewals, 'renewals', 0);
  const jitter = integer(values['renewal-jitter-max-seconds'], 'renewal-jitter-max-seconds', 0);
  // Without them the device leaves after its birth, and the jitter bound has nothing to bound.
  if (seconds === undefined && renewals === undefined) {
    if (values['fail-jobs']) throw new UsageError('--fail-jobs needs --stay-online or --renewals: a device that leaves after its birth gets no job');
    if (values['refuse-configurations']) {
      throw new UsageError('--refuse-configurations needs --stay-online or --renewals: a device that leaves after its birth gets no configuration push');
    }
    return undefined;
  }
  return {
    ...(renewals !== undefined ? { renewals } : {}),
    ...(seconds !== undefined ? { durationMs: seconds * 1000 } : {}),
    ...(jitter !== undefined ? { jitterMaxMs: jitter * 1000 } : {}),
    ...(values['fail-jobs'] ? { failJobs: true } : {}),
    ...(values['refuse-configurations'] ? { refuseConfigurations: true } : {}),
  };
}

async function device(values: Values, signal: AbortSignal): Promise<number> {
  const stateDir = values['state-dir'];
  if (!stateDir) throw new UsageError('--state-dir is required');
  const stay = stayOptions(values);
  const state = new DeviceState(stateDir);
  const onboarding = await deviceOnboarding(values, stateDir);
  if (onboarding) await toStart(state.initialise(onboarding.settings, onboarding.trustedRootPem, onboarding.factory));
  else if (!existsSync(join(stateDir, 'settings.json'))) {
    throw new UsageError('a new device needs --root-ca and one of --password, --factory-cert with --factory-key, or --code');
  }
  const settings = await toStart(state.settings());
  const say = (line: string): void => {
    if (!values.json) process.stdout.write(`${line}\n`);
  };
  const factory = await toStart(state.factoryCredentials());
  say(`device ${settings['client-id']} (${onboardingMethod(settings, factory)}${settings['discovery-url'] ? `, discovery ${settings['discovery-url']}` : ''})`);
  let early: EarlyMessages | undefined;
  let result: Awaited<ReturnType<typeof runDevice>>;
  try {
    result = await runDevice(state, {
      factoryReset: values['factory-reset'],
      signal,
      onStep: (step, detail) => say(`  ${step}${detail ? `: ${detail}` : ''}`),
      ...(stay ? { onAccountConnected: (client) => void (early = recordEarlyMessages(client)) } : {}),
    });
  } catch (error) {
    // The account broker could not be reached, refused the certificate or left the birth unacknowledged.
    result = { status: 'failed', reason: (error as Error).message, attempts: 0 };
  }
  if (result.status === 'online') {
    const next = state.accountNext();
    say(`device ${next.clientId} is online on ${next.brokerUrl} (account ${next.account})`);
    let report: OnlineReport | undefined;
    if (stay) {
      report = await stayOnline(state, result.accountClient, {
        ...(stay.renewals !== undefined ? { renewals: stay.renewals } : {}),
        ...(stay.durationMs !== undefined ? { until: Date.now() + stay.durationMs } : {}),
        ...(stay.jitterMaxMs !== undefined ? { jitterMaxMs: stay.jitterMaxMs } : {}),
        ...(stay.failJobs ? { failJobs: true } : {}),
        ...(stay.refuseConfigurations ? { refuseConfigurations: true } : {}),
        ...(early ? { early } : {}),
        signal,
        onEvent: (event, detail) => say(`  ${event}${detail ? `: ${detail}` : ''}`),
      });
      say(
        `device ${next.clientId} ${report.status === 'failed' ? `could not stay online: ${report.reason ?? ''}` : 'left its account broker'}: ` +
          `renewed ${report.renewed}, renewal failures ${report.renewalFailures.length}, refused ${report.refused}, reconnects ${report.reconnects}`,
      );
    } else {
      await closeWithin(result.accountClient, settings.timeout);
    }
    const credentials = await state.accountCredentials();
    const summary = {
      status: 'online',
      provisionedNow: result.provisionedNow,
      attempts: result.attempts,
      ...credentials.next,
      ...(report
        ? {
            stay: report.status,
            ...(report.reason ? { reason: report.reason } : {}),
            renewals: {
              renewed: report.renewed,
              failures: report.renewalFailures,
              latencyMs: report.renewalLatenciesMs,
              refused: report.refused,
              reconnects: report.reconnects,
              reprovisioned: report.reprovisioned,
              rootsLearnt: report.rootsLearnt,
            },
            certificate: credentials.pair,
          }
        : {}),
    };
    if (values.json) process.stdout.write(`${JSON.stringify(summary)}\n`);
    const short = report !== undefined && (report.status === 'failed' || (stay?.renewals !== undefined && report.renewed < stay.renewals));
    return short ? exitCodes.failed : exitCodes.online;
  }
  const reason =
    result.status === 'failed'
      ? result.reason
      : result.status === 'stopped'
        ? `stopped (${String(signal.reason)})`
        : 'provisioning is disabled (enabled=false)';
  say(`device not online: ${reason}`);
  if (values.json) process.stdout.write(`${JSON.stringify({ status: result.status, clientId: settings['client-id'], reason, attempts: result.attempts })}\n`);
  return exitCodes.failed;
}

function printFleetSummary(summary: FleetSummary, json: boolean): void {
  if (json) {
    process.stdout.write(`${JSON.stringify(summary)}\n`);
    return;
  }
  const { latencyMs: l, renewals: r } = summary;
  process.stdout.write(
    [
      `provisioned ${summary.provisioned} of ${summary.requested}, failed ${summary.failed}${summary.stopped > 0 ? `, stopped ${summary.stopped}` : ''}`,
      ...Object.entries(summary.failuresByReason).map(([reason, n]) => `  ${n} × ${reason}`),
      `${summary.devicesPerSecond.toFixed(1)} devices/s over ${(summary.durationMs / 1000).toFixed(1)} s`,
      `latency to birth: p50 ${l.p50} ms, p95 ${l.p95} ms, p99 ${l.p99} ms, max ${l.max} ms`,
      ...(r
        ? [
            `renewed ${r.renewed}, renewal failures ${r.failed}, refused ${r.refused}, reconnects ${r.reconnects}, provisioned again ${r.reprovisioned}, devices short of their renewals ${r.devicesShort}` +
              (r.rootsLearnt > 0 ? `, roots learnt ${r.rootsLearnt}` : ''),
            ...Object.entries(r.failuresByReason).map(([reason, n]) => `  ${n} × ${reason}`),
            `renewal latency: p50 ${r.latencyMs.p50} ms, p95 ${r.latencyMs.p95} ms, p99 ${r.latencyMs.p99} ms, max ${r.latencyMs.max} ms`,
          ]
        : []),
    ].join('\n') + '\n',
  );
}

async function fleet(values: Values, signal: AbortSignal): Promise<number> {
  const credentials = await fleetDevices(values);
  if (!values['root-ca']) throw new UsageError('fleet needs --root-ca');
  const settings = settingOverrides(values);
  const concurrency = integer(values.concurrency, 'concurrency', 1) ?? 50;
  const count = integer(values.count, 'count', 0) ?? credentials.length;
  if (count > credentials.length) throw new UsageError(`--count ${count}: there are only ${credentials.length} devices`);
  const trustedRootPem = await toStart(readFile(values['root-ca'], 'utf8'));
  const stateRoot = values['state-root'] ?? (await toStart(mkdtemp(join(tmpdir(), 'agent-sim-fleet-'))));
  const stay = stayOptions(values);
  const progress = new ProgressBar(process.stderr, count);
  const startedAt = Date.now();
  const summary = await runFleet({
    ...(stay ? { stayOnline: stay } : {}),
    credentials,
    count,
    concurrency,
    brokerUrl: values['broker-url'] ?? 'mqtts://localhost:8883',
    trustedRootPem,
    stateRoot,
    settings,
    signal,
    onProgress: (done, failed, renewals) => progress.update(done, failed, startedAt, false, renewals),
  });
  progress.update(summary.provisioned, summary.failed, startedAt, true, summary.renewals);
  progress.finish();
  printFleetSummary(summary, values.json);
  return summary.provisioned === summary.requested && (summary.renewals?.devicesShort ?? 0) === 0 ? exitCodes.online : exitCodes.failed;
}

/**
 * SIGINT and SIGTERM abort `signal`: the devices stop where they are and the command ends as
 * usual (the fleet prints its summary); a second signal ends the process at once.
 */
async function stoppable(run: (signal: AbortSignal) => Promise<number>): Promise<number> {
  const stop = new AbortController();
  const onSignal = (name: NodeJS.Signals): void => {
    if (stop.signal.aborted) process.exit(exitCodes.stoppedBase + constants.signals[name]);
    process.stderr.write(`agent-sim: ${name}: stopping (again to stop at once)\n`);
    stop.abort(name);
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  try {
    const code = await run(stop.signal);
    return stop.signal.aborted ? exitCodes.stoppedBase + constants.signals[stop.signal.reason as NodeJS.Signals] : code;
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  }
}

/** Runs a command and returns its exit code (exitCodes); what went wrong is on standard error. */
export async function main(argv: readonly string[]): Promise<number> {
  try {
    const { values, positionals } = parseArgs({ args: [...argv], options, allowPositionals: true, strict: true });
    const command = positionals[0];
    if (values.help || !command) {
      process.stdout.write(usage);
      return values.help ? exitCodes.online : exitCodes.usage;
    }
    if (command === 'device') return await stoppable((signal) => device(values, signal));
    if (command === 'fleet') return await stoppable((signal) => fleet(values, signal));
    throw new UsageError(`unknown command ${command}\n${usage}`);
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    if (error instanceof UsageError || (error as { code?: unknown }).code?.toString().startsWith('ERR_PARSE_ARGS')) {
      process.stderr.write(`agent-sim: ${message}\n`);
      return exitCodes.usage;
    }
    if (error instanceof CannotStartError) {
      process.stderr.write(`agent-sim: could not start: ${message}\n`);
      return exitCodes.cannotStart;
    }
    process.stderr.write(`agent-sim: internal error: ${error instanceof Error ? (error.stack ?? message) : message}\n`);
    return exitCodes.internal;
  }
}
