import { mkdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { configurationHash } from '../protocol/configuration-hash.ts';
import type { ProvisionResult } from '../protocol/messages.ts';
import type { AgentSettings } from './settings.ts';

/**
 * What a device keeps in its flash, as files in one directory: settings.json, root-ca.pem (given
 * at the factory), and after provisioning client.pem, client.key, chain.pem, signing.pem,
 * configuration.json, account.json and bundles/.
 */
export class DeviceState {
  constructor(readonly directory: string) {}

  private path(name: string): string {
    return join(this.directory, name);
  }

  /** Write-then-rename, so a crash never leaves half a file. */
  private async write(name: string, content: string | Buffer, mode = 0o600): Promise<void> {
    const target = this.path(name);
    await writeFile(`${target}.tmp`, content, { mode });
    await rename(`${target}.tmp`, target);
  }

  async initialise(settings: AgentSettings, trustedRootPem: string): Promise<void> {
    await mkdir(join(this.directory, 'bundles'), { recursive: true, mode: 0o700 });
    await this.write('settings.json', JSON.stringify(settings, null, 2));
    await this.write('root-ca.pem', trustedRootPem, 0o644);
  }

  async settings(): Promise<AgentSettings> {
    return JSON.parse(await readFile(this.path('settings.json'), 'utf8')) as AgentSettings;
  }

  async saveSettings(settings: AgentSettings): Promise<void> {
    await this.write('settings.json', JSON.stringify(settings, null, 2));
  }

  trustedRoot(): Promise<string> {
    return readFile(this.path('root-ca.pem'), 'utf8');
  }

  async saveBundle(name: string, version: string, content: Buffer): Promise<void> {
    await mkdir(join(this.directory, 'bundles'), { recursive: true, mode: 0o700 });
    await this.write(join('bundles', `${name}-${version}.bin`), content, 0o644);
  }

  readBundle(name: string, version: string): Promise<Buffer> {
    return readFile(this.path(join('bundles', `${name}-${version}.bin`)));
  }

  /** Keeps what the reply delivered; the key is the device's own (CSR) or the one received. */
  async saveProvisioning(result: ProvisionResult, keyPem: string): Promise<void> {
    await this.write('client.pem', result.certificates.client, 0o644);
    await this.write('client.key', keyPem);
    await this.write('chain.pem', result.certificates.chain.join(''), 0o644);
    await this.write('signing.pem', result.certificates.signing, 0o644);
    await this.write('configuration.json', result.configuration.content);
    await this.write('account.json', JSON.stringify(result.next, null, 2));
  }

  async accountCredentials(): Promise<{ certPem: string; keyPem: string; next: ProvisionResult['next']; configurationHash: string }> {
    const [certPem, keyPem, next, configuration] = await Promise.all([
      readFile(this.path('client.pem'), 'utf8'),
      readFile(this.path('client.key'), 'utf8'),
      readFile(this.path('account.json'), 'utf8'),
      readFile(this.path('configuration.json')),
    ]);
    return {
      certPem,
      keyPem,
      next: JSON.parse(next) as ProvisionResult['next'],
      configurationHash: configurationHash(configuration),
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
