import { createPrivateKey, X509Certificate } from 'node:crypto';
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';

/**
 * What the factory gave a device for zero-touch onboarding (docs/PROTOCOL.md §17): a certificate a
 * manufacturer CA signed, whose one subject CN is the device's clientId, and its key. The device
 * presents them as its TLS client certificate to the provision broker (no user name, no password)
 * and to cloud discovery (§19). They are never replaced or forgotten: a factory reset keeps them.
 */
export interface FactoryCredentials {
  readonly certPem: string;
  readonly keyPem: string;
}

/** A device of a fleet, named by its factory certificate. */
export interface FactoryDevice {
  readonly clientId: string;
  readonly factory: FactoryCredentials;
}

/**
 * The clientId a factory certificate gives: its one subject CN, as the provision broker checks it
 * (a CONNECT whose clientId is not the CN is refused). Throws when the PEM is not a certificate or
 * its subject holds no CN or several.
 */
export function factoryClientId(certPem: string): string {
  let certificate: X509Certificate;
  try {
    certificate = new X509Certificate(certPem);
  } catch (error) {
    throw new Error(`not a PEM certificate: ${(error as Error).message}`, { cause: error });
  }
  // toLegacyObject gives the attribute values unescaped (subject's text form escapes some
  // characters), and an array when the attribute appears more than once.
  const commonName: unknown = certificate.toLegacyObject().subject?.CN;
  if (typeof commonName === 'string' && commonName.length > 0) return commonName;
  if (Array.isArray(commonName)) throw new Error(`its subject holds ${commonName.length} CNs; a factory certificate holds exactly one`);
  throw new Error('its subject holds no CN; a factory certificate names its device (clientId) in its one CN');
}

/** Checks that the key is the certificate's: a mismatch would only show as a TLS alert from the broker. */
function checkPair(factory: FactoryCredentials, what: string): void {
  let matches: boolean;
  try {
    matches = new X509Certificate(factory.certPem).checkPrivateKey(createPrivateKey(factory.keyPem));
  } catch (error) {
    throw new Error(`${what}: unreadable key: ${(error as Error).message}`, { cause: error });
  }
  if (!matches) throw new Error(`${what}: the key is not the certificate's`);
}

/** One device's factory certificate and key (PEM files), checked: a certificate with one CN, and its key. */
export async function readFactoryCredentials(certFile: string, keyFile: string): Promise<FactoryDevice> {
  const factory = { certPem: await readFile(certFile, 'utf8'), keyPem: await readFile(keyFile, 'utf8') };
  let clientId: string;
  try {
    clientId = factoryClientId(factory.certPem);
  } catch (error) {
    throw new Error(`${certFile}: ${(error as Error).message}`, { cause: error });
  }
  checkPair(factory, `${certFile} and ${keyFile}`);
  return { clientId, factory };
}

/**
 * A fleet's factory credentials: DIR/{clientId}.crt and DIR/{clientId}.key for each device, in
 * the order of their names (as a credentials CSV gives a fleet its devices in its order). A
 * certificate whose CN is not its file's name, or without its key, is an error: the fleet would
 * otherwise run a device under a name the operator did not mean.
 */
export async function readFactoryCredentialsDirectory(directory: string): Promise<FactoryDevice[]> {
  const names = (await readdir(directory)).filter((name) => name.endsWith('.crt')).sort();
  if (names.length === 0) throw new Error(`${directory} holds no {clientId}.crt and {clientId}.key files`);
  const devices: FactoryDevice[] = [];
  for (const name of names) {
    const device = await readFactoryCredentials(join(directory, name), join(directory, `${name.slice(0, -'.crt'.length)}.key`));
    if (`${device.clientId}.crt` !== name) throw new Error(`${join(directory, name)}: its CN is ${device.clientId}, not the file's name`);
    devices.push(device);
  }
  return devices;
}
