/** Starts bench/support/floor-broker.ts as its own process (see there) and stops it. */
import { once } from 'node:events';
import path from 'node:path';
import { spawnTracked, stopChild } from './children.ts';
import { benchDir, repoRoot } from './repo.ts';

export interface FloorBrokerProcess {
  readonly pid: number;
  readonly tcpPort: number;
  readonly tlsPort: number;
  stop(): Promise<void>;
}

export async function startFloorBroker(caDir: string): Promise<FloorBrokerProcess> {
  const child = spawnTracked(process.execPath, ['--import', 'tsx', path.join(benchDir, 'support', 'floor-broker.ts'), caDir], {
    cwd: repoRoot,
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const [chunk] = (await once(child.stdout!, 'data')) as [Buffer];
  const match = /tcp=(\d+) tls=(\d+)/.exec(chunk.toString());
  if (!match || child.pid === undefined) {
    await stopChild(child);
    throw new Error(`the floor broker did not start: ${chunk.toString()}`);
  }
  return { pid: child.pid, tcpPort: Number(match[1]), tlsPort: Number(match[2]), stop: async () => void (await stopChild(child)) };
}
