/**
 * The CA material the platform runs with: the root certificate (generated on a fresh data
 * directory, or the operator's), the issuing CA with its key, earlier issuing CAs still trusted,
 * the brokers' server certificate and the message-signing certificate. Everything loaded is
 * checked; a defect is CA_MATERIAL_INVALID naming the file. The root key is never read here.
 */
import type { X509Certificate } from 'node:crypto';
import type { Logger } from '../log/logger.ts';
import { issuerFor } from './ca-checks.ts';
import { ensureCaDirectory } from './ca-files.ts';
import type { Issuer } from './certificate-builder.ts';
import { loadOrCreateGeneratedCa, loadRetiredIssuing, type LoadedCa, type RetiredIssuingCa } from './generated-ca.ts';
import type { KeyAlgorithm } from './key-pairs.ts';
import { loadOrIssueLeaves, type Credential } from './leaf-material.ts';
import type { NextRoot } from './next-root.ts';
import { loadOperatorCa, type OperatorCaFiles } from './operator-ca.ts';

export type { OperatorCaFiles } from './operator-ca.ts';

export interface CaMaterialOptions {
  readonly dataDir: string;
  readonly keyAlgorithm: KeyAlgorithm;
  readonly hostnames: readonly string[];
  readonly operatorCa?: OperatorCaFiles;
  /** Encrypts the keys written under {dataDir}/ca and decrypts the ones read (and the operator's issuing key). */
  readonly keyPassphrase?: string;
  /** Server and signing certificates with fewer days left are reissued (default 60). */
  readonly leafRenewalDays?: number;
  readonly log: Logger;
}

export interface IssuingCa extends Credential {
  readonly issuer: Issuer;
}

export interface CaMaterial {
  readonly root: { readonly certificate: X509Certificate; readonly certPem: string };
  readonly issuing: IssuingCa;
  /** Earlier issuing CAs (after a rollover) whose device certificates are still accepted, with their key when kept (CRLs only). */
  readonly retiredIssuing: readonly RetiredIssuingCa[];
  /** Root 2 of a root rollover, with the cross certificate root 1 signed for it (generated CA only), or null. */
  readonly nextRoot: NextRoot | null;
  readonly server: Credential;
  readonly signing: Credential;
  readonly operatorSupplied: boolean;
  /**
   * Loads the server and signing certificates again, reissuing those that are due exactly as at
   * start (under the same issuing CA); the caller holds the CA lock.
   */
  reloadLeaves(): Promise<{ server: Credential; signing: Credential }>;
}

export async function loadOrCreateCaMaterial(options: CaMaterialOptions): Promise<CaMaterial> {
  const directory = await ensureCaDirectory(options.dataDir);
  const { log, keyPassphrase: passphrase } = options;
  let root: { certificate: X509Certificate; certPem: string };
  let issuing: LoadedCa;
  let retiredIssuing: readonly RetiredIssuingCa[] = [];
  let nextRoot: NextRoot | null = null;
  if (options.operatorCa) {
    const operator = await loadOperatorCa(options.operatorCa, passphrase, log);
    root = { certificate: operator.root, certPem: operator.rootPem };
    issuing = operator.issuing;
    retiredIssuing = await loadRetiredIssuing(directory, [root], passphrase, log);
  } else {
    const generated = await loadOrCreateGeneratedCa({
      directory,
      keyAlgorithm: options.keyAlgorithm,
      ...(passphrase !== undefined ? { passphrase } : {}),
      log,
    });
    root = { certificate: generated.root.certificate, certPem: generated.root.certPem };
    issuing = generated.issuing;
    retiredIssuing = generated.retiredIssuing;
    nextRoot = generated.nextRoot;
  }
  const issuingCa: IssuingCa = { ...issuing, issuer: issuerFor(issuing.fields, issuing.privateKey) };
  const reloadLeaves = (): Promise<{ server: Credential; signing: Credential }> =>
    loadOrIssueLeaves({
      directory,
      keyAlgorithm: options.keyAlgorithm,
      hostnames: options.hostnames,
      issuing: issuingCa,
      ...(passphrase !== undefined ? { passphrase } : {}),
      ...(options.leafRenewalDays !== undefined ? { renewalDays: options.leafRenewalDays } : {}),
      log,
    });
  const { server, signing } = await reloadLeaves();
  return { root, issuing: issuingCa, retiredIssuing, nextRoot, server, signing, operatorSupplied: options.operatorCa !== undefined, reloadLeaves };
}
