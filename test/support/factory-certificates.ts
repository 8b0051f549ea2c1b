import { generateKeyPairSync, type KeyObject } from 'node:crypto';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { buildCertificate, clockSkewMs, createIssuer, dayMs, type Issuer } from '../../certs/certificate-builder.ts';
import { basicConstraints, extendedKeyUsage, keyUsage } from '../../certs/extensions.ts';
import { buildName } from '../../certs/names.ts';
import { Oid } from '../../certs/oids.ts';

/**
 * What a device maker has at its factory (issue 18): its own CA, and for each device a key and a
 * certificate with CN = the device's clientId, signed by that CA. Real certificates, built with the
 * platform's own certificate builder (EC P-256, fast enough for hundreds of devices per test).
 */
export interface ManufacturerCaKit {
  readonly name: string;
  readonly certPem: string;
  readonly keyPem: string;
  readonly issuer: Issuer;
}

export interface FactoryCredentials {
  readonly clientId: string;
  readonly certPem: string;
  readonly keyPem: string;
  /** Lower-case hex of the serial's bytes without DER sign padding (an even number of digits), as the platform names it. */
  readonly serial: string;
}

const ecKey = (): { privateKey: KeyObject; publicKey: KeyObject } => generateKeyPairSync('ec', { namedCurve: 'P-256' });
const pemOf = (key: KeyObject): string => key.export({ type: 'pkcs8', format: 'pem' }).toString();

export function makeManufacturerCa(name = 'Example Maker CA'): ManufacturerCaKit {
  const { privateKey, publicKey } = ecKey();
  const now = Date.now();
  const subject = buildName({ commonName: name });
  const built = buildCertificate(
    {
      serial: Buffer.from([0x01]),
      notBefore: now - clockSkewMs,
      notAfter: now + 3650 * dayMs,
      subject,
      subjectPublicKeyInfo: publicKey.export({ type: 'spki', format: 'der' }),
      extensions: [basicConstraints({ ca: true }), keyUsage(['keyCertSign', 'cRLSign'])],
    },
    (keyId) => createIssuer(subject, keyId, privateKey),
  );
  return { name, certPem: built.pem, keyPem: pemOf(privateKey), issuer: createIssuer(subject, built.subjectKeyIdentifier, privateKey) };
}

/** A factory certificate for `clientId`; serial `serialNumber` (a positive integer), validity from now by default. */
export function issueFactoryCertificate(
  ca: ManufacturerCaKit,
  clientId: string,
  serialNumber: number,
  validity: { readonly notBefore?: number; readonly notAfter?: number } = {},
): FactoryCredentials {
  const { privateKey, publicKey } = ecKey();
  const now = Date.now();
  const serialHex = serialNumber.toString(16);
  const padded = serialHex.length % 2 === 1 ? `0${serialHex}` : serialHex;
  // A leading byte at or above 0x80 would make the INTEGER negative: DER pads it with 0x00.
  const serial = Buffer.from(Number.parseInt(padded.slice(0, 2), 16) >= 0x80 ? `00${padded}` : padded, 'hex');
  const built = buildCertificate(
    {
      serial,
      notBefore: validity.notBefore ?? now - clockSkewMs,
      notAfter: validity.notAfter ?? now + 3650 * dayMs,
      subject: buildName({ commonName: clientId }),
      subjectPublicKeyInfo: publicKey.export({ type: 'spki', format: 'der' }),
      extensions: [keyUsage(['digitalSignature']), extendedKeyUsage([Oid.clientAuth])],
    },
    ca.issuer,
  );
  return { clientId, certPem: built.pem, keyPem: pemOf(privateKey), serial: padded };
}

/** Writes <clientId>.crt and <clientId>.key for each device (agent-sim --factory-credentials-dir); returns the directory. */
export async function writeFactoryCredentialsDir(directory: string, devices: readonly FactoryCredentials[]): Promise<string> {
  await mkdir(directory, { recursive: true });
  for (const device of devices) {
    await writeFile(join(directory, `${device.clientId}.crt`), device.certPem);
    await writeFile(join(directory, `${device.clientId}.key`), device.keyPem, { mode: 0o600 });
  }
  return directory;
}
