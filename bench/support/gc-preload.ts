/**
 * Loaded into a measured Node process with `--expose-gc --import` (never into the product): on
 * SIGUSR2 it runs a full garbage collection and says so on stderr, so a memory benchmark can read
 * the RSS of live objects rather than of garbage not collected yet.
 */
export const gcDoneMarker = 'bench-gc-done';

process.on('SIGUSR2', () => {
  globalThis.gc?.();
  globalThis.gc?.();
  process.stderr.write(`${gcDoneMarker}\n`);
});
