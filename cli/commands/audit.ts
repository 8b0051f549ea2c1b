import { setTimeout as sleep } from 'node:timers/promises';
import type { ApiClient, Schemas } from '../api-client.ts';
import { defineCommand, type CommandContext, type CommandGroup } from '../command.ts';
import { exitCodes } from '../exit-codes.ts';
import { integerOption, pageOptions, pageQuery, timeOption } from '../option-values.ts';
import { printable, printJson, printPageFooter, printTable, type Column, type Output } from '../output.ts';

type AuditEvent = Schemas['AuditEvent'];
type AuditQuery = Schemas['AuditEventListQuery'];

/** How often `audit tail -f` asks for new events. */
const pollIntervalMs = 1000;
/**
 * How far back before the newest event seen each poll looks: events are listed by time, and one
 * written by another process with a clock a little behind can carry an earlier time than one seen already.
 */
const pollOverlapMs = 10_000;
/** The API's largest page. */
const pageLimit = 1000;

const filterOptions = {
  account: { type: 'string', value: 'NAME', help: 'Only this account (name or id).' },
  'client-id': { type: 'string', value: 'ID', help: 'Only this device.' },
  request: { type: 'string', value: 'ID', help: 'Only this provision request.' },
  type: { type: 'string', value: 'TYPE', help: 'Only this event type, e.g. request.created, connect.refused.' },
} as const;

const eventColumns: readonly Column<AuditEvent>[] = [
  { header: 'TIME', value: (event) => event.time },
  { header: 'TYPE', value: (event) => event.type },
  { header: 'OUTCOME', value: (event) => event.outcome },
  { header: 'ACTOR', value: (event) => event.actor },
  { header: 'CLIENT ID', value: (event) => event.clientId },
  { header: 'DETAIL', value: (event) => detailText(event) },
];

function detailText(event: AuditEvent): string {
  return Object.keys(event.detail).length === 0 ? '-' : JSON.stringify(event.detail);
}

async function filterQuery(
  context: CommandContext,
  values: { account?: string | undefined; 'client-id'?: string | undefined; request?: string | undefined; type?: string | undefined },
): Promise<AuditQuery> {
  const accountId = await context.accounts.optionalIdOf(values.account);
  return {
    ...(accountId !== undefined ? { accountId } : {}),
    ...(values['client-id'] !== undefined ? { clientId: values['client-id'] } : {}),
    ...(values.request !== undefined ? { provisionRequestId: values.request } : {}),
    ...(values.type !== undefined ? { type: values.type } : {}),
  };
}

/** One event as a line: what `tail` prints (--json: one JSON object a line). */
function printEvent(out: Output, event: AuditEvent): void {
  if (out.json) out.stdout(`${JSON.stringify(event)}\n`);
  else out.stdout(`${eventColumns.map((column) => printable(column.value(event))).join('  ')}\n`);
}

async function listEvents(api: ApiClient, query: AuditQuery) {
  return api.call(api.client.GET('/api/v1/audit-events', { params: { query } }));
}

/** Every event at or after `startDate`, in the log's order (by id), page by page. */
async function* eventsSince(api: ApiClient, filter: AuditQuery, startDate: string | undefined): AsyncGenerator<AuditEvent> {
  for (let offset = 0; ; offset += pageLimit) {
    const page = await listEvents(api, { ...filter, ...(startDate !== undefined ? { startDate } : {}), offset, limit: pageLimit });
    yield* page.items;
    if (page.items.length < pageLimit) return;
  }
}

/**
 * `audit tail -f`: every second, the events at or after the newest one seen (less pollOverlapMs),
 * printing those not printed yet, until Ctrl-C. The position is the server's own event time, so
 * the CLI's clock does not matter. The events listed before `newest` (in the log's order) at the
 * start are old ones; those after it came since the newest events were printed.
 */
async function follow(context: CommandContext, api: ApiClient, filter: AuditQuery, newest: AuditEvent | undefined): Promise<number> {
  const seen = new Map<string, number>();
  let cursor: number | undefined;
  const take = (event: AuditEvent, print: boolean) => {
    const time = Date.parse(event.time);
    seen.set(event.id, time);
    cursor = Math.max(cursor ?? time, time);
    if (print) printEvent(context.out, event);
  };
  let pollNumber = 0;
  while (!context.signal.aborted) {
    const priming = pollNumber === 0 && newest !== undefined;
    if (!priming) await sleep(pollIntervalMs, undefined, { signal: context.signal }).catch(() => undefined);
    if (context.signal.aborted) break;
    pollNumber += 1;
    const from = priming ? Date.parse(newest.time) : cursor;
    let old = priming;
    for await (const event of eventsSince(api, filter, from === undefined ? undefined : new Date(from - pollOverlapMs).toISOString())) {
      if (old) {
        take(event, false);
        if (event.id === newest!.id) old = false;
      } else if (!seen.has(event.id)) take(event, true);
    }
    // Forget what no later poll can list again.
    for (const [id, time] of seen) if (cursor !== undefined && time < cursor - pollOverlapMs) seen.delete(id);
  }
  return exitCodes.interrupted;
}

/** `provisio audit ...`: the audit log (who did what, and what devices did). */
export const auditGroup: CommandGroup = {
  name: 'audit',
  summary: 'The audit log: list, tail (-f follows new events)',
  commands: [
    defineCommand({
      name: 'ls',
      summary: 'List audit events, oldest first',
      usage: '[--account NAME] [--client-id ID] [--request ID] [--type TYPE] [--since T] [--until T] [--limit N] [--offset N]',
      options: {
        ...filterOptions,
        since: { type: 'string', value: 'T', help: 'At or after T: a date-time, a date or a time ago (15m, 2h, 7d).' },
        until: { type: 'string', value: 'T', help: 'At or before T.' },
        ...pageOptions,
      },
      positionals: { min: 0, max: 0 },
      run: async (context, values) => {
        const startDate = timeOption('since', values.since);
        const endDate = timeOption('until', values.until);
        const query = {
          ...(await filterQuery(context, values)),
          ...(startDate !== undefined ? { startDate } : {}),
          ...(endDate !== undefined ? { endDate } : {}),
          ...pageQuery(values),
        };
        const page = await listEvents(context.api(), query);
        if (context.out.json) return printJson(context.out, page);
        printTable(context.out, page.items, eventColumns);
        printPageFooter(context.out, page);
      },
    }),
    defineCommand({
      name: 'tail',
      summary: 'Print the newest audit events; with -f, then every new one as it comes, until Ctrl-C',
      usage: '[-f] [-n N] [--account NAME] [--client-id ID] [--request ID] [--type TYPE]',
      details: 'One event a line (--json: one JSON object a line). With -f it asks for new events every second; Ctrl-C stops it (exit code 130).',
      options: {
        follow: { type: 'boolean', short: 'f', help: 'Keep printing new events until Ctrl-C.' },
        lines: { type: 'string', short: 'n', value: 'N', help: 'How many of the newest events to print first (0-1000, default 10).' },
        ...filterOptions,
      },
      positionals: { min: 0, max: 0 },
      run: async (context, values) => {
        const count = integerOption('lines', values.lines, { min: 0, max: pageLimit }) ?? 10;
        const filter = await filterQuery(context, values);
        const api = context.api();
        const { total } = await listEvents(api, { ...filter, offset: 0, limit: 1 });
        const last =
          total === 0 ? [] : (await listEvents(api, { ...filter, offset: Math.max(0, total - Math.max(count, 1)), limit: Math.max(count, 1) })).items;
        for (const event of last.slice(last.length - count)) printEvent(context.out, event);
        if (!values.follow) return;
        return follow(context, api, filter, last.at(-1));
      },
    }),
  ],
};
