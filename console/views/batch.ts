import type { ConsoleContext } from '../context.ts';
import { parseCsv, toCsv } from '../csv.ts';
import { button, download, field, h, row, table } from '../dom.ts';
import { ApiError, type Problem } from '../api.ts';
import { runForm } from '../problems.ts';
import { accountField, form, section, valueOf } from './common.ts';
import type { Credentials } from './credentials.ts';

interface BatchResult {
  readonly created: { readonly clientId: string; readonly credentials: Credentials }[];
  readonly failed: { readonly index: number; readonly clientId: string; readonly problem: Problem }[];
}

/** The API's batch limit: longer lists go in several calls. */
const batchSize = 1000;

interface DeviceLine {
  readonly line: number;
  readonly clientId: string;
  readonly category?: string;
}

/** The devices of a CSV: a clientId column (and optionally category); a header row is recognised by a cell named clientId. */
function devicesOf(text: string): DeviceLine[] {
  const rows = parseCsv(text);
  const header = rows[0]?.map((cell) => cell.toLowerCase()) ?? [];
  const hasHeader = header.includes('clientid');
  const clientIdColumn = hasHeader ? header.indexOf('clientid') : 0;
  const categoryColumn = hasHeader ? header.indexOf('category') : 1;
  return rows.slice(hasHeader ? 1 : 0).map((cells, index) => {
    const category = categoryColumn >= 0 ? cells[categoryColumn] : undefined;
    return { line: index + (hasHeader ? 2 : 1), clientId: cells[clientIdColumn] ?? '', ...(category ? { category } : {}) };
  });
}

function problemText(problem: Problem): string {
  const details = (problem.errors ?? []).map((error) => `${error.path.replace(/^body\/requests\/\d+\//, '')} ${error.message}`);
  return [problem.title, problem.detail, ...details].filter(Boolean).join(' — ');
}

/**
 * Many requests at once: paste or upload a CSV of client ids (and categories), create them in
 * batches, and download their credentials as CSV (clientId,username,password,activationKey), the
 * one chance to have them. Lines that fail are listed with their line number and the API's reason.
 */
export async function batchView(context: ConsoleContext): Promise<HTMLElement> {
  const result = h('div', { class: 'batch-result' });
  const text = h('textarea', { name: 'csv', rows: 8, spellcheck: 'false', placeholder: 'clientId,category\nAABBCCDDEE01,phones\nAABBCCDDEE02,phones' });
  const file = h('input', { type: 'file', name: 'file', accept: '.csv,text/csv,text/plain' });
  file.addEventListener('change', () => {
    const chosen = file.files?.[0];
    if (chosen) void chosen.text().then((content) => (text.value = content));
  });
  const importForm = form(
    'stacked-form',
    (element) =>
      void runForm(element, async () => {
        const accountId = valueOf(element, 'accountId');
        const devices = devicesOf(text.value);
        if (devices.length === 0) {
          throw new ApiError({ title: 'Nothing to import', status: 400, errors: [{ path: 'body/csv', message: 'paste or upload at least one client id' }] });
        }
        const created: BatchResult['created'] = [];
        const failed: { line: number; clientId: string; reason: string }[] = [];
        for (let start = 0; start < devices.length; start += batchSize) {
          const chunk = devices.slice(start, start + batchSize);
          const answer = await context.api.call<BatchResult>('POST', '/provision-requests/batch', {
            requests: chunk.map((device) => ({ accountId, clientId: device.clientId, ...(device.category ? { category: device.category } : {}) })),
          });
          created.push(...answer.created);
          for (const failure of answer.failed)
            failed.push({ line: chunk[failure.index]?.line ?? 0, clientId: failure.clientId, reason: problemText(failure.problem) });
        }
        const csv = toCsv(
          ['clientId', 'username', 'password', 'activationKey'],
          created.map((request) => [request.clientId, request.credentials.username, request.credentials.password, request.credentials.activationKey ?? '']),
        );
        const stamp = new Date().toISOString().replace(/[:.]/g, '-');
        result.replaceChildren(
          section(
            `${created.length} created, ${failed.length} failed`,
            created.length
              ? h(
                  'div',
                  {},
                  h(
                    'p',
                    { class: 'warning', role: 'alert' },
                    'Download the credentials now: they are shown this once and the platform keeps only their hashes.',
                  ),
                  button(`Download credentials (${created.length}) as CSV`, () => download(`credentials-${stamp}.csv`, csv), {
                    class: 'primary',
                    id: 'download-credentials',
                  }),
                )
              : null,
            failed.length
              ? table(
                  ['Line', 'Client id', 'Why'],
                  failed.map((failure) => row(String(failure.line), failure.clientId, failure.reason)),
                )
              : null,
          ),
        );
        text.value = '';
        result.querySelector<HTMLElement>('button')?.focus();
      }),
    accountField(context),
    field('Devices (CSV: clientId, and optionally category)', text),
    field('…or upload a CSV file', file),
    h('button', { type: 'submit', class: 'primary' }, 'Create requests'),
  );
  return h('div', {}, h('h1', {}, 'Import devices'), section('From a CSV', importForm), result);
}
