/**
 * Reads a V8 .cpuprofile (node --cpu-prof) and adds up self time by function and by package:
 * node_modules/{package}, our own top-level directories (broker/, store/, …), node's internals,
 * and V8's pseudo-nodes ((garbage collector), (program) = native work outside JS such as
 * OpenSSL). (idle) is left out of the shares.
 */
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { repoRoot } from './repo.ts';
import { printTable } from './table.ts';

interface ProfileNode {
  readonly id: number;
  readonly children?: readonly number[];
  readonly callFrame: { readonly functionName: string; readonly url: string; readonly lineNumber: number };
}
interface CpuProfile {
  readonly nodes: readonly ProfileNode[];
  readonly startTime: number;
  readonly endTime: number;
  readonly samples: readonly number[];
  readonly timeDeltas: readonly number[];
}

export interface SelfTimeEntry {
  readonly name: string;
  readonly ms: number;
  /** Share of the busy (non-idle) time, in percent. */
  readonly percent: number;
}

export interface ProfileSummary {
  readonly file: string;
  readonly busyMs: number;
  readonly idleMs: number;
  readonly byFunction: readonly SelfTimeEntry[];
  readonly byPackage: readonly SelfTimeEntry[];
  /** Our own functions (provisio:*) with the time spent in them and everything they called. */
  readonly ownInclusive: readonly SelfTimeEntry[];
}

/** Where a script belongs: an npm package, a directory of ours, node itself, or V8. */
export function packageOf(url: string, functionName: string): string {
  if (url === '') return functionName.startsWith('(') ? functionName : '(native)';
  if (url.startsWith('node:')) return 'node:internal';
  const file = url.startsWith('file://') ? new URL(url).pathname : url;
  const modules = file.lastIndexOf('/node_modules/');
  if (modules >= 0) {
    const parts = file.slice(modules + '/node_modules/'.length).split('/');
    return parts[0]?.startsWith('@') ? `${parts[0]}/${parts[1]}` : (parts[0] ?? file);
  }
  const relative = path.relative(repoRoot, file);
  return relative.startsWith('..') ? file : `provisio:${relative.split(path.sep)[0]}`;
}

function functionLabel(node: ProfileNode): string {
  const { functionName, url, lineNumber } = node.callFrame;
  if (url === '') return functionName || '(anonymous)';
  const file = url.startsWith('file://') ? new URL(url).pathname : url;
  const modules = file.lastIndexOf('/node_modules/');
  const where = modules >= 0 ? file.slice(modules + '/node_modules/'.length) : file.startsWith('/') ? path.relative(repoRoot, file) : file;
  return `${functionName || '(anonymous)'} ${where}:${lineNumber + 1}`;
}

function top(totals: Map<string, number>, busyMs: number, count: number): SelfTimeEntry[] {
  return [...totals]
    .sort((a, b) => b[1] - a[1])
    .slice(0, count)
    .map(([name, us]) => ({ name, ms: Math.round(us / 1000), percent: Math.round((us / 1000 / busyMs) * 1000) / 10 }));
}

/** Inclusive time of each of our functions: a sample counts once for every distinct one of ours on its stack. */
function ownInclusiveTimes(profile: CpuProfile, nodes: ReadonlyMap<number, ProfileNode>, selfUs: ReadonlyMap<number, number>): Map<string, number> {
  const parent = new Map<number, number>();
  for (const node of profile.nodes) for (const child of node.children ?? []) parent.set(child, node.id);
  const totals = new Map<string, number>();
  for (const [id, us] of selfUs) {
    if (nodes.get(id)?.callFrame.functionName === '(idle)') continue;
    const seen = new Set<string>();
    for (let current: number | undefined = id; current !== undefined; current = parent.get(current)) {
      const node = nodes.get(current);
      if (!node || !packageOf(node.callFrame.url, node.callFrame.functionName).startsWith('provisio:')) continue;
      const label = functionLabel(node);
      if (seen.has(label)) continue;
      seen.add(label);
      totals.set(label, (totals.get(label) ?? 0) + us);
    }
  }
  return totals;
}

export async function summariseProfile(file: string, count = 15): Promise<ProfileSummary> {
  const profile = JSON.parse(await readFile(file, 'utf8')) as CpuProfile;
  const nodes = new Map(profile.nodes.map((node) => [node.id, node]));
  const selfUs = new Map<number, number>();
  // Sample i lasts until sample i + 1 is taken; the last one until the end of the profile.
  for (let i = 0; i < profile.samples.length; i++) {
    const duration = i + 1 < profile.timeDeltas.length ? profile.timeDeltas[i + 1]! : 0;
    const id = profile.samples[i]!;
    selfUs.set(id, (selfUs.get(id) ?? 0) + Math.max(0, duration));
  }
  const byFunction = new Map<string, number>();
  const byPackage = new Map<string, number>();
  let idleUs = 0;
  let busyUs = 0;
  for (const [id, us] of selfUs) {
    const node = nodes.get(id);
    if (!node) continue;
    if (node.callFrame.functionName === '(idle)') {
      idleUs += us;
      continue;
    }
    busyUs += us;
    const label = functionLabel(node);
    byFunction.set(label, (byFunction.get(label) ?? 0) + us);
    const pkg = packageOf(node.callFrame.url, node.callFrame.functionName);
    byPackage.set(pkg, (byPackage.get(pkg) ?? 0) + us);
  }
  const busyMs = busyUs / 1000;
  return {
    file,
    busyMs: Math.round(busyMs),
    idleMs: Math.round(idleUs / 1000),
    byFunction: top(byFunction, busyMs, count),
    byPackage: top(byPackage, busyMs, count),
    ownInclusive: top(ownInclusiveTimes(profile, nodes, selfUs), busyMs, count),
  };
}

export function printSummary(title: string, summary: ProfileSummary): void {
  process.stdout.write(`\n${title}: ${summary.file}\nbusy ${summary.busyMs} ms (idle ${summary.idleMs} ms not counted)\n`);
  printTable(
    'Self time by function',
    summary.byFunction.map((e) => ({ 'self ms': e.ms, '% busy': e.percent, function: e.name })),
  );
  printTable(
    'Self time by package / directory',
    summary.byPackage.map((e) => ({ 'self ms': e.ms, '% busy': e.percent, package: e.name })),
  );
  printTable(
    'Our functions, inclusive time',
    summary.ownInclusive.map((e) => ({ 'total ms': e.ms, '% busy': e.percent, function: e.name })),
  );
}
