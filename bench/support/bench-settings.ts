/**
 * What the benchmarks take from their environment, read here and nowhere else in bench/ (the
 * platform's own settings are config/'s; the platform a benchmark starts gets them from its options).
 */
const environment = process.env;

export const benchSettings = {
  /** The reference broker; Debian's package installs it here. */
  mosquittoBinary: environment['MOSQUITTO'] ?? '/usr/sbin/mosquitto',
  mosquittoPasswdBinary: environment['MOSQUITTO_PASSWD'] ?? 'mosquitto_passwd',
  /** For debugging a run: a file that keeps everything the platform printed. */
  platformOutputFile: environment['BENCH_PLATFORM_OUTPUT'] || undefined,
} as const;

/**
 * The environment a child process starts from (PATH, HOME, NODE_OPTIONS…), with `overrides`
 * on top: spawn replaces the whole environment when given one.
 */
export function childEnvironment(overrides: Readonly<Record<string, string | undefined>>): NodeJS.ProcessEnv {
  return { ...environment, ...overrides };
}
