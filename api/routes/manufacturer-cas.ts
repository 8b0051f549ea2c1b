import { PlatformError } from '../../errors/platform-error.ts';
import type { ManufacturerCa } from '../../store/types.ts';
import { requireAdmin } from '../access.ts';
import type { Principal } from '../auth.ts';
import { factoryCertificateBlockView, manufacturerCaView } from '../enrollment-views.ts';
import { normalizeFactorySerial, readManufacturerCaPem } from '../manufacturer-ca-certificate.ts';
import type { RouteDeps } from '../route-deps.ts';
import { apiPrefix, defineRoute, type ApiRoute } from '../route-spec.ts';
import { idSchema } from '../schemas/common.ts';
import { factorySerialSchema } from '../schemas/manufacturer-cas.ts';
import { pageView } from '../views.ts';

const tag = 'manufacturer-cas';
const base = `${apiPrefix}/manufacturer-cas`;
const idParam = { id: idSchema };
const platformWide = 'Platform-wide: a token bound to an account gets 403.';

/**
 * Manufacturer CAs (issue 18; docs/PROTOCOL.md §17): the CAs device makers sign factory
 * certificates with, registered so that a device presenting such a certificate provisions through
 * an enrollment group; and single factory certificates blocked (a stolen device). Platform-wide:
 * read by global tokens only, changed with admin scope.
 */
export function manufacturerCaRoutes(deps: RouteDeps): ApiRoute[] {
  const { store } = deps;

  async function existingCa(principal: Principal, id: string): Promise<ManufacturerCa> {
    requireAdmin(principal);
    const ca = await store.getManufacturerCa(id);
    if (!ca) throw new PlatformError('NOT_FOUND', { detail: 'no such manufacturer CA' });
    return ca;
  }

  const audit = (type: string, principal: Principal, ca: ManufacturerCa, detail: Record<string, unknown> = {}) =>
    deps.audit({
      type,
      actor: principal.actor,
      accountId: null,
      clientId: null,
      provisionRequestId: null,
      detail: { manufacturerCaId: ca.id, name: ca.name, ...detail },
    });

  return [
    defineRoute({
      method: 'post',
      path: base,
      operationId: 'createManufacturerCa',
      summary: 'Register a manufacturer CA: devices with a factory certificate it signed may then provision through its enrollment groups',
      description:
        `The PEM must be one X.509 CA certificate (basicConstraints CA:TRUE), not expired: the one that signs the factory certificates directly. ` +
        `Its name and its SHA-256 fingerprint are unique on the platform (409 DUPLICATE). ${platformWide}`,
      tag,
      auth: 'bearer',
      scope: 'admin',
      body: { kind: 'json', schema: 'NewManufacturerCa' },
      responses: { 201: { description: 'Registered, enabled.', schema: 'ManufacturerCa' } },
      problems: [409],
      handler: async ({ principal, body }) => {
        requireAdmin(principal);
        const certificate = readManufacturerCaPem(body.pem, Date.now());
        const ca = await store.createManufacturerCa({ name: body.name, ...certificate, enabled: true });
        await audit('manufacturer-ca.created', principal, ca, { fingerprintSha256: ca.fingerprintSha256, subject: ca.subject });
        return { status: 201, body: manufacturerCaView(ca) };
      },
    }),
    defineRoute({
      method: 'get',
      path: base,
      operationId: 'listManufacturerCas',
      summary: 'List the manufacturer CAs, oldest first',
      description: platformWide,
      tag,
      auth: 'bearer',
      responses: { 200: { description: 'Every manufacturer CA.', schema: 'ManufacturerCaList' } },
      handler: async ({ principal }) => {
        requireAdmin(principal);
        return { status: 200, body: { items: (await store.listManufacturerCas()).map(manufacturerCaView) } };
      },
    }),
    defineRoute({
      method: 'get',
      path: `${base}/{id}`,
      operationId: 'getManufacturerCa',
      summary: 'Get a manufacturer CA',
      description: platformWide,
      tag,
      auth: 'bearer',
      params: idParam,
      responses: { 200: { description: 'The manufacturer CA.', schema: 'ManufacturerCa' } },
      handler: async ({ principal, params }) => ({ status: 200, body: manufacturerCaView(await existingCa(principal, params['id']!)) }),
    }),
    defineRoute({
      method: 'patch',
      path: `${base}/{id}`,
      operationId: 'updateManufacturerCa',
      summary: 'Rename, enable or disable a manufacturer CA; send the version you read',
      description:
        'Disabled, it admits no device, whatever its groups say, and the live provision-broker sessions of the devices it admitted end. ' +
        `Certificates already issued stay valid. ${platformWide}`,
      tag,
      auth: 'bearer',
      scope: 'admin',
      params: idParam,
      body: { kind: 'json', schema: 'ManufacturerCaPatch' },
      responses: { 200: { description: 'The changed manufacturer CA.', schema: 'ManufacturerCa' } },
      problems: [409],
      handler: async ({ principal, params, body }) => {
        const current = await existingCa(principal, params['id']!);
        const { version, ...patch } = body;
        const updated = await store.updateManufacturerCa(current.id, version, patch);
        const disabled = current.enabled && !updated.enabled;
        if (disabled) await deps.sessions.endSessions({ kind: 'manufacturer-ca', manufacturerCaId: updated.id, cause: 'disabled' });
        await audit('manufacturer-ca.updated', principal, updated, { fields: Object.keys(patch).sort(), enabled: updated.enabled });
        return { status: 200, body: manufacturerCaView(updated) };
      },
    }),
    defineRoute({
      method: 'delete',
      path: `${base}/{id}`,
      operationId: 'deleteManufacturerCa',
      summary: 'Delete a manufacturer CA no enrollment group names, with its blocked certificates',
      description: `Refused with 409 DUPLICATE while an enrollment group names it: delete those first. ${platformWide}`,
      tag,
      auth: 'bearer',
      scope: 'admin',
      params: idParam,
      responses: { 204: { description: 'Deleted.' } },
      problems: [409],
      handler: async ({ principal, params }) => {
        const ca = await existingCa(principal, params['id']!);
        const groups = await store.listEnrollmentGroups({ manufacturerCaId: ca.id, limit: 1 });
        if (groups.total > 0) throw new PlatformError('DUPLICATE', { detail: `the manufacturer CA is in use: ${groups.total} enrollment group(s) name it` });
        await store.deleteManufacturerCa(ca.id);
        await audit('manufacturer-ca.deleted', principal, ca, { fingerprintSha256: ca.fingerprintSha256 });
        return { status: 204 };
      },
    }),
    defineRoute({
      method: 'post',
      path: `${base}/{id}/blocked-certificates`,
      operationId: 'blockFactoryCertificate',
      summary: 'Block one factory certificate of the CA by its serial (a stolen or cloned device)',
      description:
        'A device presenting it is refused at CONNECT (FACTORY_CERTIFICATE_BLOCKED) and by discovery, and a live provision-broker session it ' +
        'opened ends at once. Certificates already issued to the device stay valid: revoke them for that. A serial blocked already is 409 DUPLICATE. ' +
        platformWide,
      tag,
      auth: 'bearer',
      scope: 'admin',
      params: idParam,
      body: { kind: 'json', schema: 'NewFactoryCertificateBlock' },
      responses: { 201: { description: 'Blocked.', schema: 'FactoryCertificateBlock' } },
      problems: [409],
      handler: async ({ principal, params, body }) => {
        const ca = await existingCa(principal, params['id']!);
        const block = await store.blockFactoryCertificate({
          manufacturerCaId: ca.id,
          serial: normalizeFactorySerial(body.serial),
          reason: body.reason,
          blockedOn: Date.now(),
          blockedBy: principal.actor,
        });
        await deps.sessions.endSessions({ kind: 'factory-certificate', manufacturerCaId: ca.id, serial: block.serial, cause: 'blocked' });
        await audit('factory-certificate.blocked', principal, ca, { serial: block.serial, reason: block.reason });
        return { status: 201, body: factoryCertificateBlockView(block) };
      },
    }),
    defineRoute({
      method: 'get',
      path: `${base}/{id}/blocked-certificates`,
      operationId: 'listFactoryCertificateBlocks',
      summary: 'List the blocked factory certificates of a manufacturer CA, newest first',
      description: platformWide,
      tag,
      auth: 'bearer',
      params: idParam,
      query: 'FactoryCertificateBlockListQuery',
      responses: { 200: { description: 'A page of blocked certificates.', schema: 'FactoryCertificateBlockPage' } },
      handler: async ({ principal, params, query }) => {
        const ca = await existingCa(principal, params['id']!);
        return { status: 200, body: pageView(await store.listFactoryCertificateBlocks(ca.id, query), factoryCertificateBlockView) };
      },
    }),
    defineRoute({
      method: 'delete',
      path: `${base}/{id}/blocked-certificates/{serial}`,
      operationId: 'unblockFactoryCertificate',
      summary: 'Unblock a factory certificate: the device may provision again',
      description: platformWide,
      tag,
      auth: 'bearer',
      scope: 'admin',
      params: { ...idParam, serial: factorySerialSchema },
      responses: { 204: { description: 'Unblocked.' } },
      handler: async ({ principal, params }) => {
        const ca = await existingCa(principal, params['id']!);
        const serial = normalizeFactorySerial(params['serial']!);
        await store.unblockFactoryCertificate(ca.id, serial);
        await audit('factory-certificate.unblocked', principal, ca, { serial });
        return { status: 204 };
      },
    }),
  ];
}
