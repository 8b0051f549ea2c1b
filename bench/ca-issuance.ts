/**
 * Certificate issuance throughput on one core (the event loop): device certificates per second
 * from issueFromCsr (parse + verify the CSR, build the TBSCertificate, sign) and from
 * issueWithGeneratedKey, after a warm-up; the median of 5 rounds. Target: >= 3,000/s for EC
 * from CSR. Usage: tsx bench/ca-issuance.ts [result.json]
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { openCertificateAuthority, type CertificateAuthority } from '../certs/certificate-authority.ts';
import { createLogger } from '../log/logger.ts';
import { createCsr } from '../dev-support/csr.ts';

const rounds = 5;
const roundMs = 250;
const warmUpMs = 200;
/** Target for EC certificates from CSRs on one core. */
const targetPerSecond = 3000;
const log = createLogger('silent');

interface Case {
  readonly name: string;
  readonly ca: CertificateAuthority;
  readonly issue: (ca: CertificateAuthority, index: number) => Promise<unknown>;
}

/** Runs `issue` back to back for about `durationMs`; returns certificates per second. */
async function measure(testCase: Case, durationMs: number): Promise<number> {
  const started = performance.now();
  let count = 0;
  while (performance.now() - started < durationMs) {
    // Batches of 25 keep the clock reads out of the measurement.
    for (let i = 0; i < 25; i++) await testCase.issue(testCase.ca, count++);
  }
  return count / ((performance.now() - started) / 1000);
}

function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)] ?? 0;
}

async function main(): Promise<void> {
  const directory = await mkdtemp(path.join(os.tmpdir(), 'provisio-bench-ca-'));
  try {
    const ecCa = await openCertificateAuthority({ dataDir: path.join(directory, 'ec'), keyAlgorithm: 'ec', hostnames: [], deviceValidityDays: 365, log });
    const rsaCa = await openCertificateAuthority({ dataDir: path.join(directory, 'rsa'), keyAlgorithm: 'rsa', hostnames: [], deviceValidityDays: 365, log });
    // CSRs are made beforehand: making them is the devices' work, not the platform's.
    const ecCsrs = Array.from({ length: 256 }, (_, i) => createCsr({ commonName: `device-${i}` }).csrPem);
    const rsaKey = createCsr({ commonName: 'key', keyAlgorithm: 'rsa' }).privateKey;
    const rsaCsrs = Array.from({ length: 64 }, (_, i) => createCsr({ commonName: `device-${i}`, privateKey: rsaKey }).csrPem);
    const cases: Case[] = [
      {
        name: 'EC CA, EC P-256 CSR',
        ca: ecCa,
        issue: (ca, i) => ca.issueFromCsr(ecCsrs[i % 256] as string, { clientId: `device-${i % 256}`, account: 'bench' }),
      },
      { name: 'EC CA, generated EC key', ca: ecCa, issue: (ca, i) => ca.issueWithGeneratedKey({ clientId: `device-${i}`, account: 'bench' }) },
      {
        name: 'RSA CA, RSA-2048 CSR',
        ca: rsaCa,
        issue: (ca, i) => ca.issueFromCsr(rsaCsrs[i % 64] as string, { clientId: `device-${i % 64}`, account: 'bench' }),
      },
    ];
    const results: { case: string; perSecond: number; rounds: number[] }[] = [];
    for (const testCase of cases) {
      await measure(testCase, warmUpMs);
      const measured: number[] = [];
      for (let round = 0; round < rounds; round++) measured.push(await measure(testCase, roundMs));
      results.push({ case: testCase.name, perSecond: Math.round(median(measured)), rounds: measured.map(Math.round) });
    }
    console.log(`CA issuance, certificates per second (median of ${rounds} rounds of ${roundMs} ms, Node ${process.version})`);
    console.table(results.map((result) => ({ case: result.case, 'certs/s': result.perSecond, rounds: result.rounds.join(' ') })));
    const ecFromCsr = results[0]?.perSecond ?? 0;
    console.log(`EC from CSR: ${ecFromCsr}/s, target ${targetPerSecond}/s: ${ecFromCsr >= targetPerSecond ? 'met' : 'NOT MET'}`);
    const output = process.argv[2];
    if (output) {
      await writeFile(output, `${JSON.stringify({ benchmark: 'ca-issuance', node: process.version, roundMs, targetPerSecond, results }, null, 2)}\n`);
    }
  } finally {
    await rm(directory, { recursive: true, force: true });
  }
}

await main();
