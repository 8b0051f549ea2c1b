import { X509Certificate } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { mkdir, open, readdir, rename, rm, unlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { configurationHash } from '../protocol/configuration-hash.ts';
import type { ProvisionResult } from '../protocol/messages.ts';
import type { RenewalResult } from '../protocol/renewal.ts';
import type { FactoryCredentials } from './factory-credentials.ts';
import type { AgentSettings } from './settings.ts';
import type { SharedFiles } from './shared-files.ts';

/** When to renew a certificate (ms since the epoch): the `renewal` of a provision or renewal result. */
export interface RenewalWindow {
  readonly after: number;
  readonly notAfter: number;
}

/**
 * Which key and certificate the device uses (current.json): `pair` names the files {pair}.pem and
 * {pair}.key. After a renewal, `previous` names the pair it replaced, kept until the account
 * broker has accepted the new one (a refusal falls back to it). Replaced by one rename.
 */
interface CurrentPair {
  readonly pair: string;
  readonly renewal?: RenewalWindow;
  readonly previous?: { readonly pair: string; readonly renewal?: RenewalWindow };
}

/** A renewal sent and not yet answered (renewal.json): repeated with the same request.id and key after a lost reply or a restart. */
export interface PendingRenewal {
  readonly requestId: string;
  readonly keyPem: string;
  /** When the first attempt was sent (ms since the epoch): the renewal's latency counts from there. */
  readonly startedAt: number;
}

/** The pair provisioning writes (client.pem, client.key): the one a state directory without current.json uses. */
const provisionedPair = 'client';

export interface DeviceStateOptions {
  /** A fleet's store of the files every device keeps identically (root, chain, signing certificate). */
  readonly shared?: SharedFiles;
}

/** Where the roots a device learnt (PROTOCOL.md §7, "A new root") are kept, beside the factory's root-ca.pem. */
const learntRootsFile = 'learnt-roots.pem';

/** What the factory gave a device for zero-touch onboarding (factory-credentials.ts), kept like root-ca.pem. */
const factoryCertificateFile = 'factory-cert.pem';
const factoryKeyFile = 'factory-key.pem';

/**
 * What provisioning, renewals and update jobs leave in the state directory: what a factory reset
 * removes. Everything else there is the factory's (settings.json, root-ca.pem, the factory
 * certificate and key) or kept by the protocol's rule (learnt-roots.pem, PROTOCOL.md §7).
 */
const learntFiles = ['chain.pem', 'signing.pem', 'configuration.json', 'account.json', 'current.json', 'renewal.json'];
const learntPattern = /^client(-[0-9a-f]+)?\.(pem|key)$|\.tmp$/;

/** The PEM certificates of a text, each with its END line and a newline. */
function pemBlocks(text: string): string[] {
  return [...text.matchAll(/-----BEGIN CERTIFICATE-----[\s\S]*?-----END CERTIFICATE-----\n?/g)].map((match) =>
    match[0].endsWith('\n') ? match[0] : `${match[0]}\n`,
  );
}

/**
 * What a device keeps in its flash, as files in one directory: settings.json, root-ca.pem (given
 * at the factory), and after provisioning client.pem, client.key, chain.pem, signing.pem,
 * configuration.json, account.json, current.json and bundles/. A device onboarded with a factory
 * certificate (docs/PROTOCOL.md §17) holds it and its key from the factory too: factory-cert.pem
 * and factory-key.pem. A renewal (CERT-V1) adds its
 * pending request (renewal.json, with the new key) and then the new pair client-{serial}.pem and
 * .key beside the old one; current.json says which pair is in use. Roots learnt from a provision
 * or renewal result during a root rollover go to learnt-roots.pem (one file replaced whole), and
 * are trusted beside root-ca.pem; a factory reset keeps them, as it keeps root-ca.pem.
 *
 * Reads are synchronous: a few KB from the page cache cost microseconds, where the thread-pool
 * round trips of an asynchronous read (open, stat, read, close) cost about 60 µs of CPU. Writes
 * stay asynchronous: creating a file can take a millisecond in the kernel.
 */
export class DeviceState {
  /** learnt-roots.pem, read once; the same array is extended when a root is learnt, so trust options holding it see the new root. */
  private learnt: string[] | null = null;

  constructor(
    readonly directory: string,
    private readonly options: DeviceStateOptions = {},
  ) {}

  private path(name: string): string {
    return join(this.directory, name);
  }

  private read(name: string): string {
    return readFileSync(this.path(name), 'utf8');
  }

  /** Write-then-rename, so a crash never leaves half a file. */
  private async write(name: string, content: string | Buffer, mode = 0o600): Promise<void> {
    const target = this.path(name);
    await writeFile(`${target}.tmp`, content, { mode });
    await rename(`${target}.tmp`, target);
  }

  /**
   * Write, fsync, rename, fsync the directory: once it returns, a power cut leaves the new file,
   * and before, the old one. For the files a renewal switches (pairs, current.json, renewal.json).
   */
  private async writeDurably(name: string, content: string, mode = 0o600): Promise<void> {
    const target = this.path(name);
    const temporary = `${target}.tmp`;
    await unlink(temporary).catch(() => undefined);
    const file = await open(temporary, 'wx', mode);
    try {
      await file.writeFile(content);
      await file.sync();
    } finally {
      await file.close();
    }
    await rename(temporary, target);
    await this.syncDirectory();
  }

  private async syncDirectory(): Promise<void> {
    const directory = await open(this.directory, 'r');
    try {
      await directory.sync();
    } catch {
      // Some file systems cannot fsync a directory; the rename is then as durable as they make it.
    } finally {
      await directory.close();
    }
  }

  /** A file every device of a fleet has with the same content: a link to the fleet's copy when there is one. */
  private async writeCommon(name: string, content: string, mode = 0o600): Promise<void> {
    if (this.options.shared && (await this.options.shared.linkAs(this.path(name), content, mode))) return;
    await this.write(name, content, mode);
  }

  /**
   * What the factory writes: the settings, the root, and for a device onboarded with a factory
   * certificate that certificate and its key (a device given none has none: a password or code
   * device initialised over a factory-certificate one must not go on presenting it).
   */
  async initialise(settings: AgentSettings, trustedRootPem: string, factory?: FactoryCredentials): Promise<void> {
    await mkdir(this.directory, { recursive: true, mode: 0o700 });
    await this.write('settings.json', JSON.stringify(settings, null, 2));
    await this.writeCommon('root-ca.pem', trustedRootPem, 0o644);
    if (factory) {
      await this.write(factoryCertificateFile, factory.certPem, 0o644);
      await this.write(factoryKeyFile, factory.keyPem);
    } else {
      await Promise.all([rm(this.path(factoryCertificateFile), { force: true }), rm(this.path(factoryKeyFile), { force: true })]);
    }
  }

  /** The factory certificate and key (factory-cert.pem, factory-key.pem), or null for a device given a password or code. */
  async factoryCredentials(): Promise<FactoryCredentials | null> {
    if (!existsSync(this.path(factoryCertificateFile))) return null;
    return { certPem: this.read(factoryCertificateFile), keyPem: this.read(factoryKeyFile) };
  }

  async settings(): Promise<AgentSettings> {
    return JSON.parse(this.read('settings.json')) as AgentSettings;
  }

  async saveSettings(settings: AgentSettings): Promise<void> {
    await this.write('settings.json', JSON.stringify(settings, null, 2));
  }

  async trustedRoot(): Promise<string> {
    return this.read('root-ca.pem');
  }

  /**
   * The roots learnt since the factory (learnt-roots.pem), trusted beside trustedRoot(). The
   * array is this state's own and grows when learnRoot adds one: hold it, do not copy it.
   */
  learntRoots(): readonly string[] {
    this.learnt ??= existsSync(this.path(learntRootsFile)) ? pemBlocks(this.read(learntRootsFile)) : [];
    return this.learnt;
  }

  /** Every root the device trusts: the factory's, then those learnt. */
  async trustedRoots(): Promise<readonly string[]> {
    return [await this.trustedRoot(), ...this.learntRoots()];
  }

  /**
   * Adds a root to learnt-roots.pem (the caller checked it: protocol/root-trust.ts), replacing the
   * file whole by one rename; false when the device held it already.
   */
  async learnRoot(rootPem: string): Promise<boolean> {
    const held = this.learntRoots() as string[];
    const [block] = pemBlocks(rootPem);
    if (block === undefined || held.includes(block) || pemBlocks(await this.trustedRoot())[0] === block) return false;
    await this.writeCommon(learntRootsFile, [...held, block].join(''), 0o644);
    held.push(block);
    return true;
  }

  /** bundles/ is made with the first bundle: most devices get none, and a directory costs an inode. */
  async saveBundle(name: string, version: string, content: Buffer): Promise<void> {
    await mkdir(join(this.directory, 'bundles'), { recursive: true, mode: 0o700 });
    await this.write(join('bundles', `${name}-${version}.bin`), content, 0o644);
  }

  /**
   * A configuration received on the account broker (an update job): stored byte for byte in place
   * of the one in use, so that the next birth reports its hash.
   */
  async saveConfiguration(content: string): Promise<void> {
    await this.write('configuration.json', content);
  }

  async readBundle(name: string, version: string): Promise<Buffer> {
    return readFileSync(this.path(join('bundles', `${name}-${version}.bin`)));
  }

  /**
   * Keeps what the reply delivered; the key is the device's own (CSR) or the one received. A
   * device provisioned again (its certificate expired) leaves the pairs of its renewals behind.
   */
  async saveProvisioning(result: ProvisionResult, keyPem: string): Promise<void> {
    const current: CurrentPair = {
      pair: provisionedPair,
      ...(result.renewal ? { renewal: { after: result.renewal.after, notAfter: result.renewal.notAfter } } : {}),
    };
    const renewedBefore = this.currentPair().pair !== provisionedPair || existsSync(this.path('renewal.json'));
    await Promise.all([
      this.write('client.pem', result.certificates.client, 0o644),
      this.write('client.key', keyPem),
      this.writeCommon('chain.pem', result.certificates.chain.join(''), 0o644),
      this.writeCommon('signing.pem', result.certificates.signing, 0o644),
      this.write('configuration.json', result.configuration.content),
      this.write('account.json', JSON.stringify(result.next, null, 2)),
    ]);
    await this.write('current.json', JSON.stringify(current));
    if (renewedBefore) {
      await rm(this.path('renewal.json'), { force: true });
      await this.removePairsOtherThan([provisionedPair]);
    }
  }

  private currentPair(): CurrentPair {
    return existsSync(this.path('current.json')) ? (JSON.parse(this.read('current.json')) as CurrentPair) : { pair: provisionedPair };
  }

  async accountCredentials(): Promise<{
    certPem: string;
    keyPem: string;
    next: ProvisionResult['next'];
    configurationHash: string;
    /** The pair in use (its files are {pair}.pem and {pair}.key), and whether it waits for its first CONNACK 0 (a previous pair is kept). */
    pair: string;
    unconfirmed: boolean;
    /** When to renew it: from the result that delivered it, or two thirds of its validity. */
    renewal: RenewalWindow;
  }> {
    const current = this.currentPair();
    const certPem = this.read(`${current.pair}.pem`);
    return {
      certPem,
      keyPem: this.read(`${current.pair}.key`),
      next: this.accountNext(),
      configurationHash: configurationHash(readFileSync(this.path('configuration.json'))),
      pair: current.pair,
      unconfirmed: current.previous !== undefined,
      renewal: current.renewal ?? defaultRenewalWindow(certPem),
    };
  }

  /** Where the device goes after provisioning (account.json). */
  accountNext(): ProvisionResult['next'] {
    return JSON.parse(this.read('account.json')) as ProvisionResult['next'];
  }

  /** The renewal sent and not answered yet, or null. */
  pendingRenewal(): PendingRenewal | null {
    return existsSync(this.path('renewal.json')) ? (JSON.parse(this.read('renewal.json')) as PendingRenewal) : null;
  }

  /** Kept before the request goes out, so that a restart repeats the same request.id with the same key. */
  async savePendingRenewal(pending: PendingRenewal): Promise<void> {
    await this.writeDurably('renewal.json', JSON.stringify(pending));
  }

  async forgetPendingRenewal(): Promise<void> {
    await rm(this.path('renewal.json'), { force: true });
  }

  /**
   * The renewed pair goes in beside the current one (each file durably written), then one rename
   * of current.json makes it current, naming the old pair as `previous`. A power cut before that
   * rename leaves the old pair in use; after it, the new one, with the old one to fall back to.
   */
  async installRenewal(result: RenewalResult, keyPem: string): Promise<string> {
    const old = this.currentPair();
    const pair = `client-${new X509Certificate(result.certificates.client).serialNumber.toLowerCase()}`;
    if (pair === old.pair) return pair;
    await this.writeDurably(`${pair}.key`, keyPem);
    await this.writeDurably(`${pair}.pem`, result.certificates.client, 0o644);
    await Promise.all([
      this.writeCommon('chain.pem', result.certificates.chain.join(''), 0o644),
      this.writeCommon('signing.pem', result.certificates.signing, 0o644),
    ]);
    const current: CurrentPair = {
      pair,
      renewal: { after: result.renewal.after, notAfter: result.renewal.notAfter },
      previous: { pair: old.pair, ...(old.renewal ? { renewal: old.renewal } : {}) },
    };
    await this.writeDurably('current.json', JSON.stringify(current));
    await this.forgetPendingRenewal();
    return pair;
  }

  /** The account broker accepted the current pair: forget the previous one (one rename, then the old files go). */
  async confirmCurrentPair(): Promise<void> {
    const current = this.currentPair();
    if (!current.previous) return;
    await this.writeDurably('current.json', JSON.stringify({ pair: current.pair, ...(current.renewal ? { renewal: current.renewal } : {}) }));
    await this.removePairsOtherThan([current.pair]);
  }

  /** The account broker refused the new pair: go back to the previous one (one rename), and drop the new one. */
  async fallBackToPreviousPair(): Promise<boolean> {
    const current = this.currentPair();
    if (!current.previous) return false;
    await this.writeDurably('current.json', JSON.stringify(current.previous));
    await this.removePairsOtherThan([current.previous.pair]);
    return true;
  }

  /** Removes the pair files (client*.pem, client*.key, and their temporaries) not named in `keep`. */
  private async removePairsOtherThan(keep: readonly string[]): Promise<void> {
    const names = await readdir(this.directory);
    const wanted = new Set(keep.flatMap((pair) => [`${pair}.pem`, `${pair}.key`]));
    for (const name of names) {
      if (/^client(-[0-9a-f]+)?\.(pem|key)(\.tmp)?$/.test(name) && !wanted.has(name)) await rm(this.path(name), { force: true });
    }
  }

  /**
   * The account broker moved (cloud discovery answered `account` with another URL, PROTOCOL.md
   * §19): account.json names the new one, for this connection and every later one.
   */
  async moveAccountBroker(brokerUrl: string): Promise<void> {
    await this.write('account.json', JSON.stringify({ ...this.accountNext(), brokerUrl }, null, 2));
  }

  /**
   * Factory reset: forget everything the device learnt (certificates and keys, chain, signing
   * certificate, configuration, account, renewal, bundles, half-written files) and keep what the
   * factory gave (settings, root, factory certificate and key) and the roots learnt, as PROTOCOL.md
   * §7 says (the factory root alone may no longer be enough). Returns the settings of a first boot
   * and the names removed, sorted (bundles/ as one name).
   */
  async factoryReset(settings: AgentSettings): Promise<{ settings: AgentSettings; removed: string[] }> {
    const removed = (await readdir(this.directory)).filter((name) => learntFiles.includes(name) || learntPattern.test(name) || name === 'bundles').sort();
    for (const name of removed) await rm(this.path(name), { recursive: true, force: true });
    const reset = { ...settings, enabled: true, provisioned: false };
    await this.saveSettings(reset);
    return { settings: reset, removed };
  }
}

/** No window from the platform (an older one): renew after two thirds of the certificate's validity. */
function defaultRenewalWindow(certPem: string): RenewalWindow {
  const certificate = new X509Certificate(certPem);
  const notBefore = new Date(certificate.validFrom).getTime();
  const notAfter = new Date(certificate.validTo).getTime();
  return { after: notBefore + Math.round(((notAfter - notBefore) * 2) / 3), notAfter };
}
