import createClient, { type Client } from 'openapi-fetch';
import type { Connection } from './connection.ts';
import { InterruptedError, RefusedError, UnreachableError, type ProblemDetails } from './exit-codes.ts';
import type { components, paths } from './generated/api-types.ts';

/** The API's component schemas (cli/generated/api-types.ts, generated from the served OpenAPI document). */
export type Schemas = components['schemas'];

/** How long one call may take before the CLI gives up (exit code 3). */
const callTimeoutMs = 30_000;

/** What openapi-fetch answers: the parsed body of a 2xx, or the parsed error body. */
interface Answer {
  readonly data?: unknown;
  readonly error?: unknown;
  readonly response: Response;
}

function isProblem(body: unknown): body is ProblemDetails {
  return body !== null && typeof body === 'object' && ('title' in body || 'detail' in body);
}

/**
 * The admin API as typed by its own OpenAPI document: `client` is openapi-fetch over the generated
 * `paths`, so a path, a parameter or a body field the API does not have is a type error here.
 * `call` turns its answers into data or into the CLI's errors (and so exit codes).
 *
 * The token goes in the Authorization header only, never in a URL; redirects are refused, so it
 * is never sent on to another place.
 */
export class ApiClient {
  /** JSON only: the API's CSV answers (Accept: text/csv) are not asked for, so their types are left out. */
  readonly client: Client<paths, 'application/json'>;

  constructor(
    connection: Connection,
    private readonly signal: AbortSignal,
  ) {
    this.client = createClient<paths, 'application/json'>({
      baseUrl: connection.baseUrl,
      headers: { authorization: `Bearer ${connection.token}`, 'user-agent': 'provisio-cli' },
      redirect: 'error',
      fetch: (request) => fetch(request, { signal: AbortSignal.any([signal, AbortSignal.timeout(callTimeoutMs)]) }),
    });
  }

  /** The 2xx body of `pending`, or the error that says why there is none. */
  async call<A extends Answer>(pending: Promise<A>): Promise<Exclude<A['data'], undefined>> {
    const answer = await this.settle(pending);
    return answer.data as Exclude<A['data'], undefined>;
  }

  /** For answers without a body (204): succeeds or throws as `call` does. */
  async send(pending: Promise<Answer>): Promise<void> {
    await this.settle(pending);
  }

  private async settle<A extends Answer>(pending: Promise<A>): Promise<A> {
    let answer: A;
    try {
      answer = await pending;
    } catch (error) {
      throw this.callFailure(error);
    }
    const { response } = answer;
    if (response.ok) return answer;
    const problem: ProblemDetails = isProblem(answer.error) ? answer.error : { title: response.statusText, status: response.status };
    if (response.status === 401) {
      throw new UnreachableError(`the API refused the token (401 ${problem.title ?? 'Unauthorized'}): check --token, PROVISIO_TOKEN or the config file`);
    }
    const retryAfter = Number(response.headers.get('retry-after') ?? Number.NaN);
    throw new RefusedError(response.status, problem, Number.isFinite(retryAfter) ? retryAfter : undefined);
  }

  private callFailure(error: unknown): Error {
    if (this.signal.aborted) return new InterruptedError('interrupted');
    const name = (error as Error | null)?.name;
    if (name === 'TimeoutError') return new UnreachableError(`the API did not answer within ${callTimeoutMs / 1000} s`);
    if (error instanceof TypeError) {
      const cause = (error as { cause?: { code?: string; message?: string } }).cause;
      return new UnreachableError(`cannot reach the API: ${cause?.code ?? cause?.message ?? error.message}`);
    }
    return error as Error;
  }
}
