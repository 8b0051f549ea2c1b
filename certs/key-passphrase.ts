/**
 * The CA key passphrase the operator gives: PROVISIO_CA_KEY_PASSPHRASE, or the first line of the
 * file PROVISIO_CA_KEY_PASSPHRASE_FILE names (a mounted secret keeps it out of the environment).
 */
import { readFileSync } from 'node:fs';
import { caKeyPassphraseMinLength, envNameOf, type PlatformConfig } from '../config/schema.ts';
import { PlatformError } from '../errors/platform-error.ts';

const minimumLength = caKeyPassphraseMinLength;

/** The passphrase, or undefined when none is configured; CONFIG_INVALID when both or an unusable file are given. */
export function readKeyPassphrase(config: Pick<PlatformConfig, 'caKeyPassphrase' | 'caKeyPassphraseFile'>): string | undefined {
  const { caKeyPassphrase, caKeyPassphraseFile } = config;
  if (caKeyPassphrase !== undefined && caKeyPassphraseFile !== undefined) {
    throw new PlatformError('CONFIG_INVALID', {
      detail: `${envNameOf('caKeyPassphrase')} and ${envNameOf('caKeyPassphraseFile')}: set one of them, not both`,
    });
  }
  if (caKeyPassphraseFile === undefined) return caKeyPassphrase;
  let text: string;
  try {
    text = readFileSync(caKeyPassphraseFile, 'utf8');
  } catch (error) {
    throw new PlatformError('CONFIG_INVALID', {
      detail: `${envNameOf('caKeyPassphraseFile')}: cannot read ${caKeyPassphraseFile} (${(error as NodeJS.ErrnoException).code ?? 'error'})`,
    });
  }
  const passphrase = text.split(/\r?\n/)[0] ?? '';
  if (passphrase.length < minimumLength) {
    throw new PlatformError('CONFIG_INVALID', {
      detail: `${envNameOf('caKeyPassphraseFile')}: the first line of ${caKeyPassphraseFile} must hold a passphrase of at least ${minimumLength} characters`,
    });
  }
  return passphrase;
}
