import { normalizedTags } from '../../store/records.ts';
import type { AuditEvent, DeviceFilter, DeviceRecord, ProvisionStore } from '../../store/types.ts';
import { requireWriteAccess, visibleOrNotFound } from '../access.ts';
import type { Principal } from '../auth.ts';
import { deviceDetailView, deviceView } from '../device-view.ts';
import { ReferenceChecker } from '../reference-checker.ts';
import type { RouteDeps } from '../route-deps.ts';
import { apiPrefix, defineRoute, type ApiRoute } from '../route-spec.ts';
import { idSchema } from '../schemas/common.ts';
import type { Validated } from '../schemas/index.ts';
import { pageView } from '../views.ts';
import { maxCsvDevices, sendDeviceCsv } from './devices-csv.ts';
import { requiredListAccount } from './list-scope.ts';

/**
 * The device registry (issue 15 §1): what the platform knows of each provisioned device, listed
 * and filtered per account (JSON pages or one CSV file), one device with its jobs, audit trail and
 * certificates, and moving a device to another category or retagging it.
 */
const tag = 'devices';
const base = `${apiPrefix}/devices`;
const idParam = { id: idSchema };

/** Audit events GET /devices/{id} shows. */
const deviceAuditEvents = 50;

function deviceFilter(principal: Principal, query: Validated<'DeviceListQuery'>): DeviceFilter {
  const { accountId, certificateExpiresBefore, offset, limit, ...filters } = query;
  return {
    ...filters,
    accountId: requiredListAccount(principal, accountId),
    ...(certificateExpiresBefore !== undefined ? { certificateExpiresBefore: Date.parse(certificateExpiresBefore) } : {}),
    offset,
    limit,
  };
}

/**
 * The newest events of one device, newest first. The store lists oldest first, so this reads
 * the total, then the last page: two reads, and an event appended between them may be left out.
 */
async function newestDeviceAudit(store: ProvisionStore, device: DeviceRecord): Promise<AuditEvent[]> {
  const scope = { accountId: device.accountId, clientId: device.clientId };
  const { total } = await store.listAudit({ ...scope, limit: 1 });
  if (total === 0) return [];
  const offset = Math.max(0, total - deviceAuditEvents);
  const { items } = await store.listAudit({ ...scope, offset, limit: deviceAuditEvents });
  return [...items].reverse();
}

/** What a PATCH changes: only the fields whose value differs, as they were and as they become. */
interface DeviceChange {
  readonly from: { category?: string | null; tags?: readonly string[] };
  readonly to: { category?: string | null; tags?: readonly string[] };
}

function deviceChange(device: DeviceRecord, body: Validated<'DevicePatch'>): DeviceChange {
  const from: { category?: string | null; tags?: readonly string[] } = {};
  const to: { category?: string | null; tags?: readonly string[] } = {};
  if (body.category !== undefined && body.category !== device.category) {
    from.category = device.category;
    to.category = body.category;
  }
  if (body.tags !== undefined) {
    const tags = normalizedTags(body.tags);
    if (tags.join('\n') !== device.tags.join('\n')) {
      from.tags = [...device.tags];
      to.tags = tags;
    }
  }
  return { from, to };
}

export function deviceRoutes(deps: RouteDeps): ApiRoute[] {
  const { store } = deps;

  async function visibleDevice(principal: Principal, id: string): Promise<DeviceRecord> {
    return visibleOrNotFound(principal, await store.getDeviceById(id), 'device');
  }

  /** An online device hears at once of a move (its category's configuration, the jobs matching it); an offline one at its next birth. */
  async function tellDevice(device: DeviceRecord, cause: string): Promise<void> {
    if (!device.online) return;
    const account = await store.getAccount(device.accountId);
    if (!account) return;
    await deps.fleetUpdates.tellToUpdate({ accountId: account.id, accountName: account.name, clientIds: [device.clientId], cause });
  }

  return [
    defineRoute({
      method: 'get',
      path: base,
      operationId: 'listDevices',
      summary: 'List the devices of an account, filtered; a page as JSON, or every match as CSV',
      description:
        'With `Accept: text/csv` the answer is devices.csv (Content-Disposition: attachment): a header row, then one device a line, ' +
        'every device the filters select (offset and limit are ignored), at most ' +
        `${maxCsvDevices} (a larger selection is 400: narrow the filters). Columns: id, accountId, clientId, category, tags ` +
        "(joined by ';'), online (true/false), brokerId, model, serial, firmware, certificateSerial, certificateNotAfter, " +
        'configurationState, expectedConfigurationHash, reportedConfigurationHash, provisionedOn, lastSeenOn; null is an empty field. ' +
        'Devices are ordered by clientId; the file is read a page at a time, so a device added or removed meanwhile may shift it. ' +
        "A cell that would start with =, +, -, @, a tab or a carriage return starts with ' instead (spreadsheet formula injection, docs/SECURITY.md).",
      tag,
      auth: 'bearer',
      query: 'DeviceListQuery',
      responses: {
        200: {
          description: 'A page of devices (JSON), or every selected device (CSV).',
          schema: 'DevicePage',
          content: { 'text/csv': { type: 'string', description: 'devices.csv, a header row and one device a line.' } },
          headers: { 'Content-Disposition': { description: 'CSV answers: attachment; filename="devices.csv".', schema: { type: 'string' } } },
        },
      },
      handler: async ({ principal, query, req, res }) => {
        const filter = deviceFilter(principal, query);
        if (req.accepts(['application/json', 'text/csv']) === 'text/csv') {
          await sendDeviceCsv(store, filter, res);
          return undefined;
        }
        return { status: 200, body: pageView(await store.listDevices(filter), deviceView) };
      },
    }),
    defineRoute({
      method: 'get',
      path: `${base}/{id}`,
      operationId: 'getDevice',
      summary: 'Get a device with the jobs that touched it, its newest audit events and its certificates',
      tag,
      auth: 'bearer',
      params: idParam,
      responses: { 200: { description: 'The device.', schema: 'DeviceDetail' } },
      handler: async ({ principal, params }) => {
        const device = await visibleDevice(principal, params['id']!);
        const [jobs, audit, certificates] = await Promise.all([
          store.listDeviceJobs(device.accountId, device.clientId),
          newestDeviceAudit(store, device),
          store.listClientCertificates(device.clientId),
        ]);
        const ownCertificates = certificates.filter((certificate) => certificate.accountId === device.accountId);
        return { status: 200, body: deviceDetailView(device, { jobs, audit, certificates: ownCertificates }) };
      },
    }),
    defineRoute({
      method: 'patch',
      path: `${base}/{id}`,
      operationId: 'updateDevice',
      summary: 'Move a device to another category of its account and/or replace its tags',
      description:
        "The category must exist in the device's account (otherwise 400 naming body/category); null takes the device out of any " +
        'category. Tags replace the old ones, stored sorted and without repeats. A change is audited as device.updated with the ' +
        'fields as they were (`from`) and became (`to`); an online device is told at once to catch up (its configuration, matching ' +
        'update jobs), an offline one does at its next birth. Sending what the device already has changes nothing.',
      tag,
      auth: 'bearer',
      params: idParam,
      body: { kind: 'json', schema: 'DevicePatch' },
      responses: { 200: { description: 'The device now.', schema: 'Device' } },
      handler: async ({ principal, params, body }) => {
        const device = await visibleDevice(principal, params['id']!);
        requireWriteAccess(principal, device.accountId);
        await new ReferenceChecker(store).check('body', { accountId: device.accountId, accountMustExist: false, category: body.category });
        const { from, to } = deviceChange(device, body);
        if (Object.keys(to).length === 0) return { status: 200, body: deviceView(device) };
        const updated = await store.upsertDevice(device.accountId, device.clientId, to);
        await deps.audit({
          type: 'device.updated',
          actor: principal.actor,
          accountId: device.accountId,
          clientId: device.clientId,
          provisionRequestId: null,
          detail: { deviceId: device.id, from, to },
        });
        if ('category' in to) await deps.expectedConfigurations.record(updated.accountId, { clientId: updated.clientId });
        await tellDevice(updated, 'category' in to ? 'category' : 'tags');
        return { status: 200, body: deviceView(updated) };
      },
    }),
  ];
}
