import { createServer, type Server } from 'node:net';

/**
 * `count` ports nobody listens on, all different: held open together, then released (ports
 * picked one after the other may repeat). For programs that cannot listen on port 0 and say which.
 */
export async function distinctFreePorts(count: number): Promise<number[]> {
  const servers: Server[] = [];
  try {
    for (let i = 0; i < count; i += 1) {
      const server = createServer();
      servers.push(server);
      await new Promise<void>((resolve, reject) => {
        server.once('error', reject);
        server.listen(0, '127.0.0.1', () => resolve());
      });
    }
    return servers.map((server) => (server.address() as { port: number }).port);
  } finally {
    await Promise.all(servers.map((server) => new Promise<void>((resolve) => server.close(() => resolve()))));
  }
}

/** A port nobody listens on now: bind port 0, read what the kernel chose, release it. */
export async function freePort(): Promise<number> {
  const [port] = await distinctFreePorts(1);
  if (!port) throw new Error('no port assigned');
  return port;
}
