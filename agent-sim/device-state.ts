import { readFileSync } from 'node:fs';
import { mkdir, rename, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { configurationHash } from '../protocol/configuration-hash.ts';
import type { ProvisionResult } from '../protocol/messages.ts';
import type { AgentSettings } from './settings.ts';
import type { SharedFiles } from './shared-files.ts';

export interface DeviceStateOptions {
  /** A fleet's store of the files every device keeps identically (root, chain, signing certificate). */
  readonly shared?: SharedFiles;
}

/**
 * What a device keeps in its flash, as files in one directory: settings.json, root-ca.pem (given
 * at the factory), and after provisioning client.pem, client.key, chain.pem, signing.pem,
 * configuration.json, account.json and bundles/.
 *
 * Reads are synchronous: a few KB from the page cache cost microseconds, where the thread-pool
 * round trips of an asynchronous read (open, stat, read, close) cost about 60 µs of CPU. Writes
 * stay asynchronous: creating a file can take a millisecond in the kernel.
 */
export class DeviceState {
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

  /** A file every device of a fleet has with the same content: a link to the fleet's copy when there is one. */
  private async writeCommon(name: string, content: string, mode = 0o600): Promise<void> {
    if (this.options.shared && (await this.options.shared.linkAs(this.path(name), content, mode))) return;
    await this.write(name, content, mode);
  }

  async initialise(settings: AgentSettings, trustedRootPem: string): Promise<void> {
    await mkdir(this.directory, { recursive: true, mode: 0o700 });
    await this.write('settings.json', JSON.stringify(settings, null, 2));
    await this.writeCommon('root-ca.pem', trustedRootPem, 0o644);
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

  /** bundles/ is made with the first bundle: most devices get none, and a directory costs an inode. */
  async saveBundle(name: string, version: string, content: Buffer): Promise<void> {
    await mkdir(join(this.directory, 'bundles'), { recursive: true, mode: 0o700 });
    await this.write(join('bundles', `${name}-${version}.bin`), content, 0o644);
  }

  async readBundle(name: string, version: string): Promise<Buffer> {
    return readFileSync(this.path(join('bundles', `${name}-${version}.bin`)));
  }

  /** Keeps what the reply delivered; the key is the device's own (CSR) or the one received. */
  async saveProvisioning(result: ProvisionResult, keyPem: string): Promise<void> {
    await Promise.all([
      this.write('client.pem', result.certificates.client, 0o644),
      this.write('client.key', keyPem),
      this.writeCommon('chain.pem', result.certificates.chain.join(''), 0o644),
      this.writeCommon('signing.pem', result.certificates.signing, 0o644),
      this.write('configuration.json', result.configuration.content),
      this.write('account.json', JSON.stringify(result.next, null, 2)),
    ]);
  }

  async accountCredentials(): Promise<{ certPem: string; keyPem: string; next: ProvisionResult['next']; configurationHash: string }> {
    return {
      certPem: this.read('client.pem'),
      keyPem: this.read('client.key'),
      next: JSON.parse(this.read('account.json')) as ProvisionResult['next'],
      configurationHash: configurationHash(readFileSync(this.path('configuration.json'))),
    };
  }

  /** Factory reset: forget everything provisioning delivered, keep settings and root. */
  async factoryReset(settings: AgentSettings): Promise<AgentSettings> {
    for (const name of ['client.pem', 'client.key', 'chain.pem', 'signing.pem', 'configuration.json', 'account.json']) {
      await rm(this.path(name), { force: true });
    }
    await rm(join(this.directory, 'bundles'), { recursive: true, force: true });
    const reset = { ...settings, enabled: true, provisioned: false };
    await this.saveSettings(reset);
    return reset;
  }
}
