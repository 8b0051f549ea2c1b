import { randomBytes } from 'node:crypto';
import { hashSecret } from '../crypto/secret-hash.ts';
import { PlatformError, isPlatformError } from '../errors/platform-error.ts';
import { provisioningCodeUsername } from '../protocol/enrollment.ts';
import type { EnrollmentGroup, ProvisioningCode } from '../store/enrollment-types.ts';
import { enrollmentCreator } from '../store/enrollment-rules.ts';
import type { JobStatus, NewProvisionRequest, ProvisionRequest, ProvisionRequestPatch, ProvisionStore } from '../store/types.ts';

/** What admitted a device without a provision request of its own (docs/PROTOCOL.md §16). */
export type Enrollment =
  | { readonly kind: 'factory-certificate'; readonly group: EnrollmentGroup; readonly serial: string }
  | { readonly kind: 'provisioning-code'; readonly code: ProvisioningCode };

/** The user name of a request made for a factory-certificate device (its password is never usable). */
export const factoryCertificateUsername = 'factory-certificate';

/** The attempts of a request made on the fly: the API's default for a request that names none (api/provision-request-service.ts). */
const defaultRetryMaxAttempts = 5;
const dayMs = 24 * 60 * 60 * 1000;
/** Concurrent CONNECTs of one device (or an operator's change meanwhile) make a round read again; more rounds than this is contention. */
const rounds = 4;

export interface EnrollmentRequestOptions {
  readonly store: ProvisionStore;
  readonly config: { readonly requestDefaultValidityDays: number };
  readonly now: () => number;
}

/**
 * The request the device provisions with, and what this CONNECT did to it (so that a refusal
 * after can take it back): made it, made it ENABLED again (from `previousJobStatus`), or found it.
 */
export type EnrollmentRequest =
  | { readonly request: ProvisionRequest; readonly made: 'new' | 'continued' }
  | { readonly request: ProvisionRequest; readonly made: 'again'; readonly previousJobStatus: JobStatus };

function refused(detail: string): PlatformError {
  return new PlatformError('ENROLLMENT_REFUSED', { detail });
}

/** What the request takes from its group or code: a code carries a category only. */
function attachments(enrollment: Enrollment): Pick<ProvisionRequest, 'category' | 'tags' | 'configurationId' | 'bundleIds'> {
  if (enrollment.kind === 'provisioning-code') return { category: enrollment.code.category, tags: [], configurationId: null, bundleIds: [] };
  const { group } = enrollment;
  return { category: group.category, tags: group.tags, configurationId: group.configurationId, bundleIds: group.bundleIds };
}

function accountOf(enrollment: Enrollment): string {
  return enrollment.kind === 'factory-certificate' ? enrollment.group.accountId : enrollment.code.accountId;
}

function creatorOf(enrollment: Enrollment): string {
  return enrollment.kind === 'factory-certificate' ? enrollmentCreator.group(enrollment.group.id) : enrollmentCreator.code(enrollment.code.id);
}

/** The audit detail naming the enrollment: never a code, never a hash. */
function enrollmentDetail(enrollment: Enrollment): Record<string, unknown> {
  return enrollment.kind === 'factory-certificate'
    ? { enrollment: enrollment.kind, groupId: enrollment.group.id, serial: enrollment.serial }
    : { enrollment: enrollment.kind, codeId: enrollment.code.id };
}

function isConflict(error: unknown): boolean {
  return isPlatformError(error) && (error.code === 'DUPLICATE' || error.code === 'VERSION_CONFLICT' || error.code === 'NOT_FOUND');
}

/**
 * The provision request a device admitted by a factory certificate or a provisioning code
 * provisions with (docs/PROTOCOL.md §17, §18), made on the fly. Its `createdBy` names the group or
 * code (store/enrollment-rules.ts), which is how the next CONNECT of the same device continues it
 * and how completion finds the code. From then on the device is one with a request like any
 * other: the provisioner, revocation and session ending need nothing else.
 * - An ENABLED request for the clientId made by this group or code is continued (the device
 *   reconnected mid-way); its validity is renewed when it ran out, the enrollment admitting it now.
 * - Another ENABLED request for the clientId: refused, the operator decides.
 * - The account's COMPLETED or FAILED request for the clientId (a factory reset, a new code): made
 *   ENABLED again as a reprovisioning does, when the group allows it (a code always does: a new
 *   code is a new consent). One this group or code made is updated in place; one made otherwise
 *   (by an operator, another group or code) is replaced by a new one in one atomic step, since a
 *   request's maker is not changed by an update. Any other state (disabled by an operator): refused.
 * - Otherwise a new request, its password random and never given to anybody.
 * Every request made or made ENABLED again is audited with the group or code as actor.
 */
export async function enrollmentRequestFor(options: EnrollmentRequestOptions, clientId: string, enrollment: Enrollment): Promise<EnrollmentRequest> {
  const { store } = options;
  const accountId = accountOf(enrollment);
  const creator = creatorOf(enrollment);
  for (let round = 0; round < rounds; round += 1) {
    const enabled = await store.findEnabledProvisionRequest(clientId);
    if (enabled) {
      if (enabled.createdBy !== creator || enabled.accountId !== accountId) throw refused('another enabled provision request holds this clientId');
      try {
        return { request: await renewed(options, enabled), made: 'continued' };
      } catch (error) {
        if (isConflict(error)) continue;
        throw error;
      }
    }
    const existing = (await store.listProvisionRequests({ accountId, clientIds: [clientId], limit: 1 })).items[0];
    try {
      if (!existing) return { request: await created(options, clientId, enrollment), made: 'new' };
      if (existing.jobStatus !== 'COMPLETED' && existing.jobStatus !== 'FAILED') throw refused('its provision request is disabled');
      if (enrollment.kind === 'factory-certificate' && !enrollment.group.reprovisionAllowed) {
        throw refused('already provisioned; the group does not allow provisioning again');
      }
      return { request: await enabledAgain(options, existing, enrollment), made: 'again', previousJobStatus: existing.jobStatus };
    } catch (error) {
      // Another CONNECT of the device (or an operator) got there first: read again.
      if (isConflict(error)) continue;
      throw error;
    }
  }
  throw new PlatformError('STORE_UNAVAILABLE', { detail: 'the provision request of this device is contended; connect again' });
}

/** A new request's validity: from now, the platform's default length. */
function validityFrom(options: EnrollmentRequestOptions): { activatesOn: number; expiresOn: number } {
  const now = options.now();
  return { activatesOn: now, expiresOn: now + options.config.requestDefaultValidityDays * dayMs };
}

async function newRecord(options: EnrollmentRequestOptions, clientId: string, enrollment: Enrollment): Promise<NewProvisionRequest> {
  return {
    accountId: accountOf(enrollment),
    clientId,
    username: enrollment.kind === 'factory-certificate' ? factoryCertificateUsername : provisioningCodeUsername,
    // A password nobody knows: the request opens the broker only through its group or code.
    passwordHash: await hashSecret(randomBytes(32).toString('base64url'), 'generated'),
    activationKeyHash: null,
    ...validityFrom(options),
    retryMaxAttempts: defaultRetryMaxAttempts,
    overwriteIfDuplicate: false,
    status: 'ENABLED',
    ...attachments(enrollment),
    createdBy: creatorOf(enrollment),
  };
}

async function created(options: EnrollmentRequestOptions, clientId: string, enrollment: Enrollment): Promise<ProvisionRequest> {
  const request = await options.store.createProvisionRequest(await newRecord(options, clientId, enrollment));
  await audit(options, 'request.created', request, { ...enrollmentDetail(enrollment), username: request.username, status: request.status });
  return request;
}

/** An ENABLED request of this enrollment, its validity renewed when it ran out. */
async function renewed(options: EnrollmentRequestOptions, request: ProvisionRequest): Promise<ProvisionRequest> {
  if (request.expiresOn > options.now()) return request;
  const { expiresOn } = validityFrom(options);
  return options.store.updateProvisionRequest(request.id, request.version, { expiresOn, modifiedBy: request.createdBy });
}

/** A COMPLETED or FAILED request of the account, ENABLED again for this enrollment. */
async function enabledAgain(options: EnrollmentRequestOptions, existing: ProvisionRequest, enrollment: Enrollment): Promise<ProvisionRequest> {
  const creator = creatorOf(enrollment);
  const previous = { previousJobStatus: existing.jobStatus, previousRetryCount: existing.retryCount };
  if (existing.createdBy !== creator) {
    const request = await options.store.replaceProvisionRequest(existing.id, await newRecord(options, existing.clientId, enrollment));
    await audit(options, 'request.created', request, {
      ...enrollmentDetail(enrollment),
      username: request.username,
      status: request.status,
      replacedRequestId: existing.id,
      ...previous,
    });
    return request;
  }
  // As ProvisionRequestService.reprovision does, with what the group or code attaches now.
  const now = options.now();
  const expiresOn = Math.max(existing.expiresOn, validityFrom(options).expiresOn);
  const patch: ProvisionRequestPatch = {
    status: 'ENABLED',
    jobStatus: 'CREATED',
    retryCount: 0,
    currentRequestId: null,
    certificateSerial: null,
    activatesOn: Math.min(existing.activatesOn, now),
    expiresOn,
    ...attachments(enrollment),
    modifiedBy: creator,
  };
  const request = await options.store.updateProvisionRequest(existing.id, existing.version, patch);
  await audit(options, 'request.reprovision', request, { ...enrollmentDetail(enrollment), ...previous, expiresOn: new Date(expiresOn).toISOString() });
  return request;
}

async function audit(options: EnrollmentRequestOptions, type: string, request: ProvisionRequest, detail: Record<string, unknown>): Promise<void> {
  await options.store.appendAudit({
    type,
    outcome: 'success',
    actor: request.createdBy,
    accountId: request.accountId,
    clientId: request.clientId,
    provisionRequestId: request.id,
    detail,
  });
}

/**
 * Takes back what this CONNECT did to the request when the CONNECT is refused after all (its
 * provisioning code was bound to another device meanwhile), so that the request does not hold the
 * clientId ENABLED for nobody: a new one is deleted, one made ENABLED again goes back to its job
 * status, disabled (a later enrollment of the device can use it again). Best effort: a request
 * changed meanwhile is left as it is.
 */
export async function withdrawEnrollmentRequest(options: EnrollmentRequestOptions, made: EnrollmentRequest): Promise<void> {
  try {
    if (made.made === 'new') await options.store.deleteProvisionRequest(made.request.id);
    if (made.made === 'again') {
      await options.store.updateProvisionRequest(made.request.id, made.request.version, {
        status: 'DISABLED',
        jobStatus: made.previousJobStatus,
        modifiedBy: made.request.createdBy,
      });
    }
  } catch (error) {
    if (!isConflict(error)) throw error;
  }
}
