import type { Response } from 'express';
import type { DeviceFilter, DeviceRecord, ProvisionStore } from '../../store/types.ts';
import { csvCell, type CsvCell } from '../csv-cells.ts';
import { iso } from '../views.ts';
import { maxCsvRows, sendCsv } from './csv-export.ts';

/**
 * The device registry as a CSV file (GET /api/v1/devices with Accept: text/csv): every device of
 * the selection, streamed as api/routes/csv-export.ts streams every list.
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

/** Devices one export may hold (the bound of every CSV export). */
export const maxCsvDevices = maxCsvRows;

type CsvRow = Record<(typeof deviceCsvColumns)[number], CsvCell>;

/** One CSV line of a device; tags joined by ';', spreadsheet-safe (a device writes its own model, serial and firmware). */
function csvRow(device: DeviceRecord): CsvRow {
  const time = (epochMs: number | null) => (epochMs === null ? null : iso(epochMs));
  return {
    id: csvCell(device.id),
    accountId: csvCell(device.accountId),
    clientId: csvCell(device.clientId),
    category: csvCell(device.category),
    tags: csvCell(device.tags),
    online: csvCell(device.online),
    brokerId: csvCell(device.brokerId),
    model: csvCell(device.model),
    serial: csvCell(device.serial),
    firmware: csvCell(device.firmware),
    certificateSerial: csvCell(device.certificateSerial),
    certificateNotAfter: csvCell(time(device.certificateNotAfter)),
    configurationState: csvCell(device.configurationState),
    expectedConfigurationHash: csvCell(device.expectedConfigurationHash),
    reportedConfigurationHash: csvCell(device.reportedConfigurationHash),
    provisionedOn: csvCell(time(device.provisionedOn)),
    lastSeenOn: csvCell(time(device.lastSeenOn)),
  };
}

/**
 * Answers the devices of `filter` (its offset and limit ignored) as devices.csv: a header row, one
 * device a line, booleans as true/false, times as ISO date-times, null as an empty field.
 */
export async function sendDeviceCsv(store: ProvisionStore, filter: DeviceFilter, res: Response): Promise<void> {
  await sendCsv(
    {
      filename: 'devices.csv',
      noun: 'devices',
      columns: deviceCsvColumns,
      row: csvRow,
      page: (offset, limit) => store.listDevices({ ...filter, offset, limit }),
    },
    res,
  );
}
