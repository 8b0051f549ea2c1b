/** Shared by the test/ca*.test.ts suites: temporary data directories, a CA, and openssl. */
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { openCertificateAuthority, type CertificateAuthority, type CertificateAuthorityOptions } from '../../certs/certificate-authority.ts';
import { createLogger } from '../../log/logger.ts';

export const silentLog = createLogger('silent');

const temporaryDirectories: string[] = [];

/** A fresh directory under os.tmpdir(); removeTemporaryDirectories() deletes them all. */
export async function temporaryDirectory(prefix = 'provisio-ca-'): Promise<string> {
  const directory = await mkdtemp(path.join(os.tmpdir(), prefix));
  temporaryDirectories.push(directory);
  return directory;
}

export async function removeTemporaryDirectories(): Promise<void> {
  await Promise.all(temporaryDirectories.splice(0).map((directory) => rm(directory, { recursive: true, force: true })));
}

export async function openTestCa(dataDir: string, overrides: Partial<CertificateAuthorityOptions> = {}): Promise<CertificateAuthority> {
  return openCertificateAuthority({
    dataDir,
    keyAlgorithm: 'ec',
    hostnames: ['provisio.example.test'],
    deviceValidityDays: 365,
    log: silentLog,
    ...overrides,
  });
}

export const opensslPath = '/usr/bin/openssl';
export const hasOpenssl = existsSync(opensslPath);
if (!hasOpenssl) {
  console.warn(`\n!!! ${opensslPath} is missing: the openssl cross-checks of the CA tests are SKIPPED !!!\n`);
}
/** For `test(name, { skip: opensslSkip }, ...)`. */
export const opensslSkip: string | false = hasOpenssl ? false : `${opensslPath} is missing`;

export interface OpensslResult {
  readonly status: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

export function openssl(args: readonly string[], input?: string): OpensslResult {
  const result = spawnSync(opensslPath, args, { encoding: 'utf8', input, timeout: 20_000 });
  return { status: result.status, stdout: result.stdout ?? '', stderr: result.stderr ?? '' };
}

/** Writes PEM files into `directory` and returns their paths, by name. */
export async function writePems<T extends Record<string, string>>(directory: string, files: T): Promise<{ [K in keyof T]: string }> {
  const paths = {} as { [K in keyof T]: string };
  for (const [name, content] of Object.entries(files)) {
    const file = path.join(directory, `${name}.pem`);
    await writeFile(file, content);
    paths[name as keyof T] = file;
  }
  return paths;
}
