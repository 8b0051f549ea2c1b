import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { stringify } from 'csv-stringify';
import type { Response } from 'express';
import type { DeviceFilter, DeviceRecord, ProvisionStore } from '../../store/types.ts';
import { invalid } from '../problem.ts';
import { iso } from '../views.ts';

/**
 * The device registry as a CSV file (GET /api/v1/devices with Accept: text/csv): every device of
 * the selection, not one page. Read from the store a page at a time and streamed through
 * csv-stringify with backpressure, so a large fleet never sits in memory as one string.
 */
const deviceCsvColumns = [
  'id',
  'accountId',
  'clientId',
  'category',
  'tags',
  'online',
  'brokerId',
  'model',
  'serial',
  'firmware',
  'certificateSerial',
  'certificateNotAfter',
  'configurationState',
  'expectedConfigurationHash',
  'reportedConfigurationHash',
  'provisionedOn',
  'lastSeenOn',
] as const;

/** Devices one export may hold: beyond it the request is refused, so the operator narrows the filters rather than getting a file cut short. */
export const maxCsvDevices = 100_000;
/** Devices read from the store at a time (the store's largest page). */
const csvPageSize = 1000;

type CsvRow = Record<(typeof deviceCsvColumns)[number], string | boolean | null>;

/** One CSV line of a device; tags joined by ';'. */
function csvRow(device: DeviceRecord): CsvRow {
  const time = (epochMs: number | null) => (epochMs === null ? null : iso(epochMs));
  return {
    id: device.id,
    accountId: device.accountId,
    clientId: device.clientId,
    category: device.category,
    tags: device.tags.join(';'),
    online: device.online,
    brokerId: device.brokerId,
    model: device.model,
    serial: device.serial,
    firmware: device.firmware,
    certificateSerial: device.certificateSerial,
    certificateNotAfter: time(device.certificateNotAfter),
    configurationState: device.configurationState,
    expectedConfigurationHash: device.expectedConfigurationHash,
    reportedConfigurationHash: device.reportedConfigurationHash,
    provisionedOn: time(device.provisionedOn),
    lastSeenOn: time(device.lastSeenOn),
  };
}

/**
 * The pages after the first, read by offset until a short page. A device added or removed during
 * the export can shift the pages (one device missed or listed twice): an export is a snapshot
 * only of a registry that is not changing. At most maxCsvDevices rows whatever happens meanwhile.
 */
async function* csvRows(store: ProvisionStore, filter: DeviceFilter, first: readonly DeviceRecord[]): AsyncGenerator<CsvRow> {
  let page = first;
  let offset = 0;
  for (;;) {
    for (const device of page) {
      if (offset >= maxCsvDevices) return;
      offset += 1;
      yield csvRow(device);
    }
    if (page.length < csvPageSize) return;
    page = (await store.listDevices({ ...filter, offset, limit: csvPageSize })).items;
  }
}

function isClientGone(error: unknown): boolean {
  return (error as NodeJS.ErrnoException | null)?.code === 'ERR_STREAM_PREMATURE_CLOSE';
}

/**
 * Answers the devices of `filter` (its offset and limit ignored) as devices.csv: a header row, one
 * device a line, booleans as true/false, times as ISO date-times, null as an empty field. A
 * selection larger than maxCsvDevices is a 400 before anything is sent; a store failure after the
 * first page cuts the answer off (the error handler destroys the response), so a short file is never
 * mistaken for a whole one.
 */
export async function sendDeviceCsv(store: ProvisionStore, filter: DeviceFilter, res: Response): Promise<void> {
  const first = await store.listDevices({ ...filter, offset: 0, limit: csvPageSize });
  if (first.total > maxCsvDevices) {
    throw invalid('query', `selects ${first.total} devices; a CSV export holds at most ${maxCsvDevices}: narrow it with the filters`);
  }
  res.status(200);
  res.setHeader('Cache-Control', 'no-store');
  res.setHeader('Content-Disposition', 'attachment; filename="devices.csv"');
  res.type('text/csv; charset=utf-8');
  const stringifier = stringify({
    header: true,
    columns: [...deviceCsvColumns],
    cast: { boolean: (value) => (value ? 'true' : 'false') },
  });
  try {
    await pipeline(Readable.from(csvRows(store, filter, first.items)), stringifier, res);
  } catch (error) {
    if (isClientGone(error)) return;
    throw error;
  }
}
