/**
 * `npm run secrets -- <command>`: the platform secrets file (docs/OPERATIONS.md). Reads the same
 * configuration as the platform (data directory or PROVISIO_SECRETS_FILE, the passphrase, the
 * store), so a store of an earlier version is migrated first, as a start would. Secrets are
 * never printed: each value is named by the first 12 hex digits of its SHA-256.
 *
 *   status                                               the values, and attempts that still need a previous device key
 *   rotate <device-key|bundle-token>                     a new current value; the old one kept as previous
 *   drop-previous <device-key|bundle-token> [--force]    forget the previous values
 *   reseal [--old-passphrase-file <file>]                 seal with the passphrase configured now, after a change
 */
import { createHash } from 'node:crypto';
import { parseArgs } from 'node:util';
import type { PlatformConfig } from '../config/config.ts';
import { readKeyPassphrase } from '../certs/key-passphrase.ts';
import { createLogger } from '../log/logger.ts';
import { openStore } from '../store/open-store.ts';
import type { ProvisionStore } from '../store/types.ts';
import { exitWithUsage, runOperatorCommand } from './operator-command.ts';
import { resealSecretsFile } from './platform-secrets.ts';
import { attemptsNeedingPreviousDeviceKeys, dropPreviousPlatformSecrets, loadSecretsForCommand, rotatePlatformSecret } from './secret-rotation.ts';
import type { SecretName, SecretsDocument } from './secrets-file.ts';

const usage = `usage: npm run secrets -- status
       npm run secrets -- rotate <device-key|bundle-token>
       npm run secrets -- drop-previous <device-key|bundle-token> [--force]
       npm run secrets -- reseal [--old-passphrase-file <file>]
(docs/OPERATIONS.md)
`;

const names: Readonly<Record<string, SecretName>> = { 'device-key': 'deviceKey', 'bundle-token': 'bundleToken' };

function fingerprint(secret: Buffer): string {
  return createHash('sha256').update(secret).digest('hex').slice(0, 12);
}

async function describe(file: string, document: SecretsDocument, sealed: boolean, store: ProvisionStore): Promise<string> {
  let text = `secrets file ${file} (${sealed ? 'encrypted with the passphrase' : 'NOT encrypted: no passphrase'})\n`;
  const needing = await attemptsNeedingPreviousDeviceKeys(store, document);
  for (const [label, name] of Object.entries(names)) {
    const ring = document[name];
    text += `  ${label.padEnd(13)} current ${fingerprint(ring.current)}\n`;
    ring.previous.forEach((retired, index) => {
      const users = name === 'deviceKey' ? needing.filter((attempt) => attempt.previousIndex === index).length : null;
      text += `  ${''.padEnd(13)} previous ${fingerprint(retired.value)}, retired ${new Date(retired.retiredOn).toISOString()}`;
      text += users === null ? '\n' : `, needed by ${users} attempt${users === 1 ? '' : 's'} in progress\n`;
    });
  }
  return text;
}

async function run(
  command: string,
  argument: string | undefined,
  options: { force: boolean; oldPassphraseFile?: string },
  config: PlatformConfig,
): Promise<string> {
  const log = createLogger('warn', process.stderr);
  if (command === 'reseal') {
    const oldPassphrase = options.oldPassphraseFile === undefined ? undefined : readKeyPassphrase({ caKeyPassphraseFile: options.oldPassphraseFile });
    const { file, sealed } = await resealSecretsFile(config, oldPassphrase, log);
    return `${file}: ${sealed ? 'sealed with the passphrase configured now' : 'written unencrypted (no passphrase configured)'}. Restart every platform process with that passphrase.\n`;
  }
  const store = await openStore(config);
  try {
    if (command === 'status') {
      const loaded = await loadSecretsForCommand(config, store, log);
      return await describe(loaded.file, loaded.document, loaded.sealed, store);
    }
    const name = names[argument ?? ''];
    if (name === undefined) throw new Error(`name device-key or bundle-token\n${usage}`);
    if (command === 'rotate') {
      const document = await rotatePlatformSecret(config, store, log, name);
      return (
        `${argument}: new current value ${fingerprint(document[name].current)}; the previous one is still accepted.\n` +
        'Restart every platform process (each reads the file at start). ' +
        (name === 'deviceKey'
          ? 'Drop the previous value once `npm run secrets -- status` shows no attempt in progress needing it.\n'
          : `Drop the previous value once the links handed out before have expired (PROVISIO_BUNDLE_TOKEN_TTL_SECONDS: ${config.bundleTokenTtlSeconds} s).\n`)
      );
    }
    const outcome = await dropPreviousPlatformSecrets(config, store, log, name, options.force);
    if (outcome.dropped === 0 && outcome.needing.length > 0) {
      const listed = outcome.needing
        .slice(0, 20)
        .map((attempt) => `  ${attempt.clientId} (provision request ${attempt.provisionRequestId}, request.id ${attempt.requestId})`)
        .join('\n');
      throw new Error(
        `${outcome.needing.length} attempt(s) in progress still need a previous device-key secret; dropping it would answer their repeats 422 (a new attempt each):\n${listed}\nWait until they complete or expire, or add --force.`,
      );
    }
    return `${argument}: ${outcome.dropped} previous value(s) dropped. Restart every platform process.\n`;
  } finally {
    await store.close();
  }
}

async function main(): Promise<void> {
  let parsed;
  try {
    parsed = parseArgs({ allowPositionals: true, options: { force: { type: 'boolean', default: false }, 'old-passphrase-file': { type: 'string' } } });
  } catch (error) {
    exitWithUsage(usage, (error as Error).message);
  }
  const [command, argument, ...rest] = parsed.positionals;
  const valid =
    ((command === 'status' || command === 'reseal') && argument === undefined) ||
    ((command === 'rotate' || command === 'drop-previous') && argument !== undefined);
  if (!valid || rest.length > 0) exitWithUsage(usage);
  const oldPassphraseFile = parsed.values['old-passphrase-file'];
  const options = { force: parsed.values.force === true, ...(oldPassphraseFile !== undefined ? { oldPassphraseFile } : {}) };
  await runOperatorCommand('secrets', (config) => run(command as string, argument, options, config));
}

await main();
