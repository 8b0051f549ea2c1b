/**
 * The console's one way to the platform: the HTTP API of its own origin, with the token in the
 * Authorization header. The token lives only in this object (memory): never in a URL, a cookie or
 * web storage, so a reload or closing the tab signs out (docs/SECURITY.md).
 */

/** An RFC 9457 problem as the API answers it (application/problem+json). */
export interface Problem {
  readonly title: string;
  readonly status: number;
  readonly code?: string;
  readonly detail?: string;
  readonly errors?: readonly { readonly path: string; readonly message: string }[];
}

export class ApiError extends Error {
  constructor(readonly problem: Problem) {
    super(problem.detail ? `${problem.title}: ${problem.detail}` : problem.title);
  }
}

export interface Page<T> {
  readonly items: T[];
  readonly total: number;
  readonly offset: number;
  readonly limit: number;
}

/** Who the token is (GET /api/v1/whoami): kind admin reaches every account; scope says what it may do. */
export interface Principal {
  readonly kind: 'admin' | 'account';
  readonly accountId: string | null;
  readonly scope: 'read' | 'operator' | 'admin';
}

export type Query = Record<string, string | number | boolean | readonly string[] | undefined | null>;

export function queryString(query: Query = {}): string {
  const params = new URLSearchParams();
  for (const [name, value] of Object.entries(query)) {
    if (value === undefined || value === null || value === '') continue;
    if (Array.isArray(value)) for (const item of value) params.append(name, item);
    else params.append(name, String(value));
  }
  const text = params.toString();
  return text ? `?${text}` : '';
}

async function problemOf(response: Response): Promise<Problem> {
  const text = await response.text();
  try {
    const body = JSON.parse(text) as Partial<Problem>;
    if (typeof body.title === 'string') return { ...body, title: body.title, status: body.status ?? response.status };
  } catch {
    // not a problem body: said below with the status
  }
  return { title: response.statusText || 'Request failed', status: response.status, detail: text.slice(0, 200) || undefined };
}

export class Api {
  constructor(private readonly token: string) {}

  private headers(extra: Record<string, string> = {}): Record<string, string> {
    return { authorization: `Bearer ${this.token}`, ...extra };
  }

  async call<T>(method: string, path: string, body?: unknown, query?: Query): Promise<T> {
    const response = await fetch(`/api/v1${path}${queryString(query)}`, {
      method,
      headers: this.headers(body === undefined ? { accept: 'application/json' } : { accept: 'application/json', 'content-type': 'application/json' }),
      body: body === undefined ? null : JSON.stringify(body),
      cache: 'no-store',
      credentials: 'omit',
    });
    if (!response.ok) throw new ApiError(await problemOf(response));
    const text = await response.text();
    return (text ? JSON.parse(text) : undefined) as T;
  }

  get<T>(path: string, query?: Query): Promise<T> {
    return this.call<T>('GET', path, undefined, query);
  }

  /** A raw upload (bundles): the body as it is, with its content type. */
  async upload<T>(path: string, query: Query, body: Blob, contentType: string): Promise<T> {
    const response = await fetch(`/api/v1${path}${queryString(query)}`, {
      method: 'POST',
      headers: this.headers({ accept: 'application/json', 'content-type': contentType }),
      body,
      cache: 'no-store',
      credentials: 'omit',
    });
    if (!response.ok) throw new ApiError(await problemOf(response));
    return (await response.json()) as T;
  }

  /**
   * A text body sent as it is, answered as text (the CSV batch: text/csv in, the credentials CSV
   * out): the answer's text and headers, or the problem thrown as ApiError.
   */
  async sendText(path: string, query: Query, body: string, contentType: string, accept: string): Promise<{ text: string; headers: Headers }> {
    const response = await fetch(`/api/v1${path}${queryString(query)}`, {
      method: 'POST',
      headers: this.headers({ accept, 'content-type': contentType }),
      body,
      cache: 'no-store',
      credentials: 'omit',
    });
    if (!response.ok) throw new ApiError(await problemOf(response));
    return { text: await response.text(), headers: response.headers };
  }

  /**
   * Follows GET /api/v1/events (server-sent events) until `signal` aborts, calling `onEvent` with
   * each event's data. Read with fetch, since EventSource cannot send the Authorization header;
   * on a dropped connection it reconnects after two seconds, resuming after the last id seen.
   */
  async follow(onEvent: (data: unknown) => void, signal: AbortSignal, onState: (connected: boolean) => void): Promise<void> {
    let lastId: string | undefined;
    while (!signal.aborted) {
      try {
        const response = await fetch('/api/v1/events', {
          headers: this.headers({ accept: 'text/event-stream', ...(lastId ? { 'last-event-id': lastId } : {}) }),
          cache: 'no-store',
          credentials: 'omit',
          signal,
        });
        if (!response.ok || !response.body) throw new ApiError(await problemOf(response));
        onState(true);
        const reader = response.body.pipeThrough(new TextDecoderStream()).getReader();
        let buffer = '';
        for (;;) {
          const { value, done } = await reader.read();
          if (done) break;
          buffer += value;
          let end: number;
          while ((end = buffer.indexOf('\n\n')) >= 0) {
            const block = buffer.slice(0, end);
            buffer = buffer.slice(end + 2);
            let data = '';
            for (const line of block.split('\n')) {
              if (line.startsWith('id: ')) lastId = line.slice(4);
              else if (line.startsWith('data: ')) data += line.slice(6);
            }
            if (data) onEvent(JSON.parse(data));
          }
        }
      } catch (error) {
        if (signal.aborted) return;
        if (error instanceof ApiError && error.problem.status === 401) throw error;
      }
      onState(false);
      await new Promise((resolve) => setTimeout(resolve, 2000));
    }
  }
}
