/**
 * What `provisio`'s exit code says, so a script can tell "the API said no" from "I called it
 * wrongly" from "there is no API to talk to" (listed in --help).
 */
export const exitCodes = {
  /** Done. */
  ok: 0,
  /** The API answered with a problem (refused, not found, conflict...): its title, detail and errors are printed. */
  refused: 1,
  /** A bad command line, option value, input file or configuration file: nothing was sent. */
  usage: 2,
  /** The API could not be reached, did not answer in time, or refused the token (401). */
  unreachable: 3,
  /** A bug of provisio: an unexpected error. */
  internal: 4,
  /** Stopped by Ctrl-C (SIGINT): 128 + 2. */
  interrupted: 130,
} as const;

/** A bad command line, input file or configuration: exit code 2, with the message and a pointer to --help. */
export class UsageError extends Error {}

/** The API is not there, too slow, or refused the token: exit code 3. */
export class UnreachableError extends Error {}

/** Ctrl-C during a call: exit code 130. */
export class InterruptedError extends Error {}

/** RFC 9457 problem details as the API sends them (only what the CLI prints is relied on). */
export interface ProblemDetails {
  readonly title?: string;
  readonly status?: number;
  readonly detail?: string;
  readonly code?: string;
  readonly errors?: readonly { readonly path: string; readonly message: string }[];
}

/** The API answered with an error status: exit code 1, its problem printed. */
export class RefusedError extends Error {
  constructor(
    readonly status: number,
    readonly problem: ProblemDetails,
    /** The Retry-After of a 429 or 503 answer, in seconds. */
    readonly retryAfterSeconds?: number,
  ) {
    super(problem.detail ?? problem.title ?? `HTTP ${status}`);
  }
}
