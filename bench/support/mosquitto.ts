/**
 * mosquitto (Debian's 2.x) as the reference broker: password authentication from a
 * mosquitto_passwd file holding the same credentials as our provision requests, one plain TCP
 * listener and one TLS listener with the platform's own (EC) server certificate and chain.
 * A third listener asks for a client certificate (our issuing CA) like the account broker does.
 * Logging is reduced to errors and warnings, as for the platform.
 */
import { spawnSync } from 'node:child_process';
import { readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { benchSettings } from './bench-settings.ts';
import { captureOutput, spawnTracked, stopChild } from './children.ts';
import { distinctFreePorts } from '../../dev-support/ports.ts';
import { waitForPort } from './net-util.ts';

const { mosquittoBinary, mosquittoPasswdBinary } = benchSettings;

export interface MosquittoProcess {
  readonly pid: number;
  readonly tcpPort: number;
  readonly tlsPort: number;
  /** Mutual TLS: client certificates of our CA, the certificate's CN taken as the user name. */
  readonly mtlsPort: number;
  stop(): Promise<void>;
}

export interface MosquittoOptions {
  /** A directory of our own for the configuration and password file. */
  readonly directory: string;
  readonly credentials: readonly { readonly username: string; readonly password: string }[];
  /** The platform's CA directory: server.cert.pem, server.key.pem, issuing and root CA. */
  readonly caDir: string;
}

/** Writes `user:password` lines and hashes them in place with `mosquitto_passwd -U`. */
async function writePasswordFile(file: string, credentials: MosquittoOptions['credentials']): Promise<void> {
  await writeFile(file, `${credentials.map((c) => `${c.username}:${c.password}`).join('\n')}\n`, { mode: 0o600 });
  const result = spawnSync(mosquittoPasswdBinary, ['-U', file], { encoding: 'utf8' });
  if (result.status !== 0) throw new Error(`mosquitto_passwd -U failed: ${result.stderr || result.error?.message}`);
}

export async function startMosquitto(options: MosquittoOptions): Promise<MosquittoProcess> {
  const passwordFile = path.join(options.directory, 'passwd');
  await writePasswordFile(passwordFile, options.credentials);
  // The server certificate followed by the issuing CA, as the platform's listeners present them.
  const chainFile = path.join(options.directory, 'server-chain.pem');
  const [serverCert, issuingCert] = await Promise.all([
    readFile(path.join(options.caDir, 'server.cert.pem'), 'utf8'),
    readFile(path.join(options.caDir, 'issuing-ca.cert.pem'), 'utf8'),
  ]);
  await writeFile(chainFile, `${serverCert.trim()}\n${issuingCert.trim()}\n`);
  // Client certificates carry only the leaf: the listener needs the issuing CA and the root.
  const clientCaFile = path.join(options.directory, 'client-ca.pem');
  const rootCert = await readFile(path.join(options.caDir, 'root-ca.cert.pem'), 'utf8');
  await writeFile(clientCaFile, `${issuingCert.trim()}\n${rootCert.trim()}\n`);
  const [tcpPort = 0, tlsPort = 0, mtlsPort = 0] = await distinctFreePorts(3);
  const serverKey = path.join(options.caDir, 'server.key.pem');
  const configFile = path.join(options.directory, 'mosquitto.conf');
  await writeFile(
    configFile,
    [
      'per_listener_settings false',
      'allow_anonymous false',
      `password_file ${passwordFile}`,
      // Started as root it would switch to the mosquitto user, who cannot read our 0700 temp dir.
      ...(process.getuid?.() === 0 ? ['user root'] : []),
      'persistence false',
      'log_dest stderr',
      'log_type error',
      'log_type warning',
      'connection_messages false',
      'max_connections -1',
      `listener ${tcpPort} 127.0.0.1`,
      `listener ${tlsPort} 127.0.0.1`,
      `certfile ${chainFile}`,
      `keyfile ${serverKey}`,
      `cafile ${path.join(options.caDir, 'root-ca.cert.pem')}`,
      `listener ${mtlsPort} 127.0.0.1`,
      `certfile ${chainFile}`,
      `keyfile ${serverKey}`,
      `cafile ${clientCaFile}`,
      'require_certificate true',
      'use_identity_as_username true',
      '',
    ].join('\n'),
  );
  const child = spawnTracked(mosquittoBinary, ['-c', configFile]);
  const output = captureOutput(child);
  try {
    await waitForPort(tcpPort);
    await waitForPort(tlsPort);
    await waitForPort(mtlsPort);
  } catch (error) {
    await stopChild(child);
    throw new Error(`mosquitto did not start: ${(error as Error).message}\n${output()}`);
  }
  return { pid: child.pid!, tcpPort, tlsPort, mtlsPort, stop: async () => void (await stopChild(child)) };
}
