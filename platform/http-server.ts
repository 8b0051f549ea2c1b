import { createServer, type RequestListener, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface RunningHttpServer {
  readonly server: Server;
  /** The bound port (useful with port 0). */
  readonly port: number;
  /** Stops accepting, closes idle keep-alive connections at once and busy ones after `graceMs`. */
  close(): Promise<void>;
}

export interface HttpServerOptions {
  readonly host: string;
  /** 0 picks a free port. */
  readonly port: number;
  /** How long running requests may finish after close() (default 2000 ms). */
  readonly graceMs?: number;
}

export async function startHttpServer(app: RequestListener, options: HttpServerOptions): Promise<RunningHttpServer> {
  const server = createServer(app);
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port, options.host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const port = (server.address() as AddressInfo).port;
  let closing: Promise<void> | undefined;

  const close = (): Promise<void> => {
    closing ??= new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => server.closeAllConnections(), options.graceMs ?? 2000);
      timer.unref();
      server.close((error) => {
        clearTimeout(timer);
        if (error && (error as NodeJS.ErrnoException).code !== 'ERR_SERVER_NOT_RUNNING') reject(error);
        else resolve();
      });
      server.closeIdleConnections();
    });
    return closing;
  };
  return { server, port, close };
}
