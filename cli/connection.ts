import { readFileSync, statSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { UnreachableError, UsageError } from './exit-codes.ts';

/**
 * Where the API is and which token to show it. Each comes from the first of: the flag (--url,
 * --token), the environment (PROVISIO_URL, PROVISIO_TOKEN), the config file (--config FILE, or
 * ~/.config/provisio/config.json when it exists: `{ "url": "...", "token": "..." }`).
 *
 * A config file holding a token must be readable by its owner alone (as ssh insists on for a
 * private key): one that others may read or write is refused, with the chmod that fixes it.
 */
export interface Connection {
  /** The server's base URL, without /api/v1 and without a trailing slash. */
  readonly baseUrl: string;
  readonly token: string;
}

interface ConfigFile {
  readonly url?: string;
  readonly token?: string;
}

export interface ConnectionSources {
  readonly url?: string | undefined;
  readonly token?: string | undefined;
  readonly config?: string | undefined;
  readonly env: Readonly<Record<string, string | undefined>>;
}

/** The default config file: $XDG_CONFIG_HOME/provisio/config.json, else ~/.config/provisio/config.json. */
export function defaultConfigPath(env: ConnectionSources['env']): string {
  const base = env['XDG_CONFIG_HOME'] || join(env['HOME'] || homedir(), '.config');
  return join(base, 'provisio', 'config.json');
}

function readConfigFile(path: string, explicit: boolean): ConfigFile {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (error) {
    if (!explicit && (error as NodeJS.ErrnoException).code === 'ENOENT') return {};
    throw new UsageError(`cannot read the config file ${path}: ${(error as Error).message}`);
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (error) {
    throw new UsageError(`the config file ${path} is not JSON: ${(error as Error).message}`);
  }
  if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) throw new UsageError(`the config file ${path} must hold a JSON object`);
  const config = parsed as Record<string, unknown>;
  for (const key of Object.keys(config)) {
    if (key !== 'url' && key !== 'token') throw new UsageError(`the config file ${path}: unknown key '${key}' (known: url, token)`);
    if (typeof config[key] !== 'string') throw new UsageError(`the config file ${path}: '${key}' must be a string`);
  }
  if (config['token'] !== undefined) refuseOpenPermissions(path);
  return config as ConfigFile;
}

function refuseOpenPermissions(path: string): void {
  if (process.platform === 'win32') return;
  const mode = statSync(path).mode & 0o777;
  if ((mode & 0o077) !== 0) {
    throw new UsageError(
      `the config file ${path} holds a token and its permissions ${mode.toString(8).padStart(4, '0')} let others read or change it: ` +
        `run \`chmod 600 ${path}\` (it is ignored until then)`,
    );
  }
}

/** The API's base URL from what the user gave: http(s) only, no user:password@, no query; a trailing /api/v1 is dropped. */
export function normaliseBaseUrl(raw: string): string {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new UsageError(`the API URL '${raw}' is not a URL (e.g. http://127.0.0.1:8080)`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new UsageError(`the API URL must be http:// or https://, not ${url.protocol}`);
  if (url.username || url.password) throw new UsageError('the API URL must not carry a user name or password: give the token with --token or PROVISIO_TOKEN');
  if (url.search || url.hash) throw new UsageError('the API URL must not have a query or fragment');
  const path = url.pathname.replace(/\/+$/, '').replace(/\/api\/v1$/, '');
  return `${url.origin}${path}`;
}

function isLoopback(hostname: string): boolean {
  return hostname === 'localhost' || hostname === '[::1]' || /^127\.\d+\.\d+\.\d+$/.test(hostname);
}

/**
 * The URL and token to use, or why there are none: a bad URL or config file is a usage error
 * (exit 2), a missing token an authentication failure (exit 3). `warn` hears of a token about to
 * cross the network in clear text.
 */
export function resolveConnection(sources: ConnectionSources, warn: (message: string) => void): Connection {
  const configPath = sources.config ?? defaultConfigPath(sources.env);
  const config = readConfigFile(configPath, sources.config !== undefined);
  const rawUrl = sources.url ?? sources.env['PROVISIO_URL'] ?? config.url;
  if (!rawUrl) throw new UsageError(`no API URL: give --url, set PROVISIO_URL, or put "url" in ${configPath}`);
  const baseUrl = normaliseBaseUrl(rawUrl);
  const token = sources.token ?? sources.env['PROVISIO_TOKEN'] ?? config.token;
  if (!token) throw new UnreachableError(`no API token: give --token, set PROVISIO_TOKEN, or put "token" in ${configPath} (chmod 600)`);
  const { protocol, hostname } = new URL(baseUrl);
  if (protocol === 'http:' && !isLoopback(hostname))
    warn(`warning: the token is sent in clear text to ${hostname} over http://; use https:// beyond this machine`);
  return { baseUrl, token };
}
