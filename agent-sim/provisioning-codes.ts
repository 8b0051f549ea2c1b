import { createHash, randomBytes } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { normalizeProvisioningCode, provisioningCodeUsername } from '../protocol/enrollment.ts';
import { splitCsvLine, type DeviceCredentials } from './credentials-source.ts';

/** "02:a1:b2:c3:d4:e5": a MAC address with the locally administered bit set (02), so it is no vendor's. */
function macLike(bytes: Buffer): string {
  return ['02', ...[...bytes.subarray(0, 5)].map((byte) => byte.toString(16).padStart(2, '0'))].join(':');
}

/**
 * The clientId of a device given a provisioning code and no --client-id: a new MAC-like id, as a
 * device on the bench would use its own MAC (PROTOCOL.md §18: any acceptable clientId).
 */
export function randomMacLikeId(): string {
  return macLike(randomBytes(5));
}

/**
 * The clientId of the device a fleet runs for a code of a codes file: MAC-like, made from the
 * code's id, so the same file gives the same devices on every run and two files never share one
 * (an id made from the line's index would give every file's first device the same clientId).
 */
export function codeDeviceClientId(codeId: string): string {
  return macLike(createHash('sha256').update(codeId).digest());
}

/** One device per code: its clientId from the code's id, user name 'provisioning-code', the code as password. */
function codeDevice(id: string, code: string, where: string): DeviceCredentials {
  if (!id) throw new Error(`${where}: no id`);
  if (normalizeProvisioningCode(code) === null) throw new Error(`${where}: the code ${JSON.stringify(code)} is not 12 digits`);
  return { clientId: codeDeviceClientId(id), username: provisioningCodeUsername, password: code };
}

/** The admin API's provisioning-code CSV (Accept: text/csv): columns id, code and others, in any order. */
export function parseProvisioningCodesCsv(text: string): DeviceCredentials[] {
  const lines = text.split(/\r?\n/).filter((line) => line.trim() !== '');
  const header = splitCsvLine(lines[0] ?? '').map((cell) => cell.trim());
  const idColumn = header.indexOf('id');
  const codeColumn = header.indexOf('code');
  if (idColumn < 0 || codeColumn < 0) throw new Error(`provisioning codes CSV needs id and code columns (header: ${header.join(',')})`);
  return lines.slice(1).map((line, index) => {
    const cells = splitCsvLine(line);
    return codeDevice(cells[idColumn]?.trim() ?? '', cells[codeColumn]?.trim() ?? '', `provisioning codes CSV line ${index + 2}`);
  });
}

/** The admin API's JSON answer to creating codes ({items: [{id, code, …}]}), or its items alone. */
export function parseProvisioningCodesJson(text: string): DeviceCredentials[] {
  const parsed: unknown = JSON.parse(text);
  const list = Array.isArray(parsed) ? parsed : (parsed as { items?: unknown }).items;
  if (!Array.isArray(list)) throw new Error('provisioning codes JSON must be {items: [{id, code}]} or an array of {id, code}');
  return list.map((item: Record<string, unknown>, index) =>
    codeDevice(typeof item['id'] === 'string' ? item['id'] : '', typeof item['code'] === 'string' ? item['code'] : '', `provisioning codes JSON item ${index}`),
  );
}

export async function readProvisioningCodesFile(path: string): Promise<DeviceCredentials[]> {
  const text = await readFile(path, 'utf8');
  return path.endsWith('.json') ? parseProvisioningCodesJson(text) : parseProvisioningCodesCsv(text);
}
