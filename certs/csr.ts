/**
 * PKCS#10 certificate signing requests (RFC 2986). node-forge's CSR reader knows only RSA, so
 * the structure is walked with its ASN.1 module and the proof of possession (the request's
 * signature) is checked with node:crypto. Every failure is CSR_INVALID; nothing else escapes.
 *
 *   CertificationRequest ::= SEQUENCE {
 *     certificationRequestInfo SEQUENCE { version INTEGER (0), subject Name,
 *                                         subjectPKInfo SubjectPublicKeyInfo, attributes [0] },
 *     signatureAlgorithm AlgorithmIdentifier,
 *     signature BIT STRING }
 */
import { verify, type KeyObject } from 'node:crypto';
import { isPlatformError, PlatformError } from '../errors/platform-error.ts';
import { Asn1Type, bitStringBytes, children, contentBytes, fromDer, isContext, isUniversal, oidOf, readTlv, type Asn1 } from './der.ts';
import { describeKey, publicKeyFromSpki, spkiDerOf, type HashName } from './key-pairs.ts';
import { parseName } from './names.ts';
import { Oid } from './oids.ts';
import { fromPem } from './pem.ts';

/** A PEM request this long is not a device CSR (an RSA-8192 one is ~3.5 KB). */
export const maxCsrPemLength = 16 * 1024;

export interface ParsedCsr {
  /** Every CN of the subject, in order (normally exactly one). */
  readonly commonNames: readonly string[];
  readonly publicKey: KeyObject;
  /** SubjectPublicKeyInfo DER, canonical (as node:crypto would export it). */
  readonly subjectPublicKeyInfo: Buffer;
}

const signatureAlgorithms: Record<string, { keyType: 'ec' | 'rsa'; hash: HashName }> = {
  [Oid.ecdsaWithSha256]: { keyType: 'ec', hash: 'sha256' },
  [Oid.ecdsaWithSha384]: { keyType: 'ec', hash: 'sha384' },
  [Oid.ecdsaWithSha512]: { keyType: 'ec', hash: 'sha512' },
  [Oid.sha256WithRsa]: { keyType: 'rsa', hash: 'sha256' },
  [Oid.sha384WithRsa]: { keyType: 'rsa', hash: 'sha384' },
  [Oid.sha512WithRsa]: { keyType: 'rsa', hash: 'sha512' },
};

/**
 * Device keys we certify: EC P-256 or P-384, RSA 2048 to 8192 bits (the upper bound keeps the
 * cost of checking a hostile request small).
 */
export function isAcceptedDeviceKey(key: KeyObject): boolean {
  const details = key.asymmetricKeyDetails ?? {};
  if (key.asymmetricKeyType === 'ec') return details.namedCurve === 'prime256v1' || details.namedCurve === 'secp384r1';
  if (key.asymmetricKeyType === 'rsa') {
    const bits = details.modulusLength ?? 0;
    return bits >= 2048 && bits <= 8192;
  }
  return false;
}

function invalid(detail: string, cause?: unknown): PlatformError {
  return new PlatformError('CSR_INVALID', { detail, cause });
}

/**
 * What parseCsr returns: only objects of this class are taken as verified without parsing again
 * (a private field cannot be forged; a WeakSet of results made garbage collection slower).
 */
class VerifiedCsr implements ParsedCsr {
  readonly #verified = true;

  constructor(
    readonly commonNames: readonly string[],
    readonly publicKey: KeyObject,
    readonly subjectPublicKeyInfo: Buffer,
  ) {}

  static is(value: unknown): value is VerifiedCsr {
    return typeof value === 'object' && value !== null && #verified in value;
  }
}

/** True for a ParsedCsr that parseCsr made (and so verified), not merely one of the same shape. */
export function isVerifiedCsr(value: unknown): value is ParsedCsr {
  return VerifiedCsr.is(value);
}

/** Parses a PEM CSR and verifies its signature; throws CSR_INVALID on any defect. */
export function parseCsr(csrPem: unknown): ParsedCsr {
  try {
    return parseAndVerify(csrPem);
  } catch (error) {
    // The checks below name what is wrong; this is the backstop for anything they did not foresee.
    throw isPlatformError(error) ? error : invalid('malformed request', error);
  }
}

function parseAndVerify(csrPem: unknown): ParsedCsr {
  if (typeof csrPem !== 'string' || csrPem.length > maxCsrPemLength) {
    throw invalid(`not a PEM certificate request of at most ${maxCsrPemLength} characters`);
  }
  const der = fromPem(csrPem, ['CERTIFICATE REQUEST', 'NEW CERTIFICATE REQUEST']);
  if (!der) throw invalid('not a PEM "CERTIFICATE REQUEST" block');

  let request: Asn1;
  let signedBytes: Buffer;
  let spkiBytes: Buffer;
  try {
    request = fromDer(der);
    // The signature covers the exact encoded certificationRequestInfo, so take its bytes as sent.
    const outer = readTlv(der, 0);
    const info = readTlv(der, outer.contentStart);
    signedBytes = der.subarray(info.start, info.end);
    const version = readTlv(der, info.contentStart);
    const subject = readTlv(der, version.end);
    const spki = readTlv(der, subject.end);
    spkiBytes = der.subarray(spki.start, spki.end);
  } catch (error) {
    throw invalid('malformed DER', error);
  }

  const requestParts = children(request);
  const infoParts = children(requestParts[0]);
  const [info, algorithmNode, signatureNode] = requestParts;
  const [versionNode, subjectNode, spkiNode, attributesNode] = infoParts;
  if (
    !isUniversal(request, Asn1Type.SEQUENCE) ||
    requestParts.length !== 3 ||
    !isUniversal(info, Asn1Type.SEQUENCE) ||
    infoParts.length !== 4 ||
    !isUniversal(versionNode, Asn1Type.INTEGER) ||
    contentBytes(versionNode).toString('hex') !== '00' ||
    !isUniversal(spkiNode, Asn1Type.SEQUENCE) ||
    !isContext(attributesNode, 0)
  ) {
    throw invalid('not a version 1 PKCS#10 request');
  }

  if (!isUniversal(algorithmNode, Asn1Type.SEQUENCE) || children(algorithmNode).length > 2) {
    throw invalid('malformed signature algorithm');
  }
  const [algorithmOidNode, parameters] = children(algorithmNode);
  const algorithm = signatureAlgorithms[oidOf(algorithmOidNode) ?? ''];
  if (!algorithm) throw invalid('unsupported signature algorithm (ECDSA or RSA PKCS#1 v1.5 with SHA-2 expected)');
  const nullParameters = isUniversal(parameters, Asn1Type.NULL) && parameters.value === '';
  if (parameters !== undefined && !(algorithm.keyType === 'rsa' && nullParameters)) {
    throw invalid('unexpected signature algorithm parameters');
  }
  const signature = bitStringBytes(signatureNode);
  if (!signature) throw invalid('malformed signature');

  let publicKey: KeyObject;
  let canonical: boolean;
  try {
    const imported = publicKeyFromSpki(spkiBytes);
    publicKey = imported.publicKey;
    // The fast path only takes EC P-256/P-384 keys whose encoding is already canonical DER.
    canonical = imported.ecCurve !== undefined;
  } catch (error) {
    throw invalid('unreadable public key', error);
  }
  if (!canonical && !isAcceptedDeviceKey(publicKey)) {
    throw invalid(`${describeKey(publicKey)} keys are not accepted (EC P-256, EC P-384 or RSA 2048-8192)`);
  }
  if (publicKey.asymmetricKeyType !== algorithm.keyType) throw invalid('signature algorithm does not fit the key');

  let verified = false;
  try {
    verified = verify(algorithm.hash, signedBytes, publicKey, signature);
  } catch (error) {
    throw invalid('malformed signature', error);
  }
  if (!verified) throw invalid('the signature does not verify with the enclosed public key');

  let commonNames: readonly string[];
  try {
    commonNames = parseName(subjectNode).commonNames;
  } catch (error) {
    throw invalid('unreadable subject', error);
  }
  return new VerifiedCsr(commonNames, publicKey, canonical ? spkiBytes : spkiDerOf(publicKey));
}
