import { readFile } from 'node:fs/promises';

/** One device's provisioning credentials, as the admin API's batch CSV export gives them. */
export interface DeviceCredentials {
  readonly clientId: string;
  readonly username: string;
  readonly password: string;
  readonly activationKey?: string;
}

/** Splits one CSV line (RFC 4180 quoting). */
export function splitCsvLine(line: string): string[] {
  const cells: string[] = [];
  let cell = '';
  let quoted = false;
  for (let i = 0; i < line.length; i += 1) {
    const char = line[i]!;
    if (quoted) {
      if (char === '"' && line[i + 1] === '"') {
        cell += '"';
        i += 1;
      } else if (char === '"') quoted = false;
      else cell += char;
    } else if (char === '"') quoted = true;
    else if (char === ',') {
      cells.push(cell);
      cell = '';
    } else cell += char;
  }
  cells.push(cell);
  return cells;
}

export function parseCredentialsCsv(text: string): DeviceCredentials[] {
  const lines = text.split(/\r?\n/).filter((line) => line.trim() !== '');
  const header = splitCsvLine(lines[0] ?? '').map((cell) => cell.trim());
  const column = (name: string): number => header.indexOf(name);
  for (const required of ['clientId', 'username', 'password']) {
    if (column(required) < 0) throw new Error(`credentials CSV lacks a ${required} column (header: ${header.join(',')})`);
  }
  return lines.slice(1).map((line) => {
    const cells = splitCsvLine(line);
    const activationKey = column('activationKey') >= 0 ? cells[column('activationKey')] : undefined;
    return {
      clientId: cells[column('clientId')] ?? '',
      username: cells[column('username')] ?? '',
      password: cells[column('password')] ?? '',
      ...(activationKey ? { activationKey } : {}),
    };
  });
}

export function parseCredentialsJson(text: string): DeviceCredentials[] {
  const parsed: unknown = JSON.parse(text);
  const list = Array.isArray(parsed) ? parsed : (parsed as { items?: unknown }).items;
  if (!Array.isArray(list)) throw new Error('credentials JSON must be an array of {clientId, username, password, activationKey?}');
  return list.map((item: Record<string, unknown>, index) => {
    const source = (item['credentials'] as Record<string, unknown> | undefined) ?? item;
    const clientId = String(item['clientId'] ?? source['clientId'] ?? '');
    const username = String(source['username'] ?? '');
    const password = String(source['password'] ?? '');
    if (!clientId || !username || !password) throw new Error(`credentials JSON entry ${index} lacks clientId, username or password`);
    const activationKey = source['activationKey'];
    return { clientId, username, password, ...(typeof activationKey === 'string' && activationKey ? { activationKey } : {}) };
  });
}

export async function readCredentialsFile(path: string): Promise<DeviceCredentials[]> {
  const text = await readFile(path, 'utf8');
  return path.endsWith('.json') ? parseCredentialsJson(text) : parseCredentialsCsv(text);
}
