import { ApiError } from '../api.ts';
import type { ConsoleContext } from '../context.ts';
import { button, download, field, h } from '../dom.ts';
import { runForm } from '../problems.ts';
import { accountField, form, section, valueOf } from './common.ts';

/** The API's limit on one CSV batch (more rows are refused as a whole: split the file). */
const maxRows = 1000;

/**
 * A finding of the CSV batch said in the words of the file: body/rows/3/clientId → "Row 3,
 * clientId: …" next to the textarea (row 1 is the first line under the header), body/header/x →
 * "Header, x: …". Other findings (query/accountId) stay as the API named them.
 */
function inFileWords(problem: ApiError['problem']): ApiError['problem'] {
  const errors = (problem.errors ?? []).map((error) => {
    const [, where, row, column] = /^body\/(rows|header)(?:\/([^/]+))?(?:\/(.+))?$/.exec(error.path) ?? [];
    if (!where) return error;
    const place = where === 'rows' ? (row ? `Row ${row}` : 'Rows') : 'Header';
    const named = where === 'rows' ? column : row;
    return { path: 'body/csv', message: `${place}${named ? `, ${named}` : ''}: ${error.message}` };
  });
  return { ...problem, errors };
}

/**
 * Many requests at once: paste or upload a CSV (a header row naming the columns: clientId, and
 * optionally category, generateActivationKey…), sent as it is to POST /provision-requests/batch as
 * text/csv. The API reads it and creates all rows or none: a bad row is named by row and column
 * next to the text. The answer asked for is the credentials CSV itself
 * (clientId,username,password,activationKey), offered as a download, the one chance to have it.
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
        if (text.value.trim() === '') {
          throw new ApiError({
            title: 'Nothing to import',
            status: 400,
            errors: [{ path: 'body/csv', message: 'paste or upload a CSV with a header row and at least one device' }],
          });
        }
        const answer = await context.api
          .sendText('/provision-requests/batch', { accountId: valueOf(element, 'accountId') }, text.value, 'text/csv', 'text/csv')
          .catch((error: unknown) => {
            throw error instanceof ApiError ? new ApiError(inFileWords(error.problem)) : error;
          });
        const created = answer.text.split(/\r?\n/).filter((line) => line !== '').length - 1;
        const failed = Number(answer.headers.get('x-failed-count') ?? 0);
        const stamp = new Date().toISOString().replace(/[:.]/g, '-');
        result.replaceChildren(
          section(
            `${created} created, ${failed} failed`,
            created > 0
              ? h(
                  'div',
                  {},
                  h(
                    'p',
                    { class: 'warning', role: 'alert' },
                    'Download the credentials now: they are shown this once and the platform keeps only their hashes.',
                  ),
                  button(`Download credentials (${created}) as CSV`, () => download(`credentials-${stamp}.csv`, answer.text), {
                    class: 'primary',
                    id: 'download-credentials',
                  }),
                )
              : null,
            failed > 0
              ? h(
                  'p',
                  { class: 'warning' },
                  `${failed} rows were valid but failed at creation (a concurrent change): see the audit log, and import them again.`,
                )
              : null,
          ),
        );
        text.value = '';
        result.querySelector<HTMLElement>('button')?.focus();
      }),
    accountField(context),
    field(
      'Devices (CSV with a header row: clientId, and optionally category, generateActivationKey…)',
      text,
      `At most ${maxRows} rows per file. All rows are created or none: a bad row is named here by its row (1 = the first under the header) and column.`,
    ),
    field('…or upload a CSV file', file),
    h('button', { type: 'submit', class: 'primary' }, 'Create requests'),
  );
  return h('div', {}, h('h1', {}, 'Import devices'), section('From a CSV', importForm), result);
}
