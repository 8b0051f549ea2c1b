import type { DeviceAssignment, EnrollmentGroup } from './enrollment-types.ts';

/** The device a factory certificate names, as enrollment rules see it. */
export interface EnrolledDevice {
  readonly manufacturerCaId: string;
  readonly serial: string;
  readonly clientId: string;
}

/** Why a group does not take a device, or null when it does (enabled, in its window, its lists admit it). */
export function groupRefusal(group: EnrollmentGroup, device: EnrolledDevice, now: number): string | null {
  if (group.manufacturerCaId !== device.manufacturerCaId) return 'the group is on another manufacturer CA';
  if (!group.enabled) return 'the enrollment group is disabled';
  if (group.validFrom !== null && now < group.validFrom) return 'the enrollment group is not open yet';
  if (group.validUntil !== null && now >= group.validUntil) return 'the enrollment group has closed';
  if (group.denySerials.includes(device.serial) || group.denyClientIds.includes(device.clientId)) return 'denied by the enrollment group';
  if (group.allowSerials.length > 0 && !group.allowSerials.includes(device.serial)) return 'not on the enrollment group allow list';
  if (group.allowClientIds.length > 0 && !group.allowClientIds.includes(device.clientId)) return 'not on the enrollment group allow list';
  return null;
}

/** true when one of the group's allow lists names the device. */
function namesDevice(group: EnrollmentGroup, device: EnrolledDevice): boolean {
  return group.allowSerials.includes(device.serial) || group.allowClientIds.includes(device.clientId);
}

export type GroupChoice = { readonly group: EnrollmentGroup } | { readonly group: null; readonly reason: string };

/**
 * The enrollment group a factory-certificate device provisions into (docs/PROTOCOL.md §17):
 * - an operator's assignment naming a group decides (the group must still take the device);
 * - otherwise, of the groups on its manufacturer CA that take it, one whose allow list names the
 *   device comes before one that admits it without naming it, and the oldest comes first.
 * `groups` are the groups on the device's manufacturer CA, oldest first.
 */
export function chooseEnrollmentGroup(
  groups: readonly EnrollmentGroup[],
  device: EnrolledDevice,
  assignment: DeviceAssignment | null,
  now: number,
): GroupChoice {
  if (assignment?.enrollmentGroupId) {
    const assigned = groups.find((group) => group.id === assignment.enrollmentGroupId);
    if (!assigned) return { group: null, reason: 'the assigned enrollment group is not on this manufacturer CA' };
    const refusal = groupRefusal(assigned, device, now);
    return refusal === null ? { group: assigned } : { group: null, reason: refusal };
  }
  const taking = groups.filter((group) => groupRefusal(group, device, now) === null);
  const chosen = taking.find((group) => namesDevice(group, device)) ?? taking[0];
  if (chosen) return { group: chosen };
  const first = groups[0];
  return { group: null, reason: first ? (groupRefusal(first, device, now) ?? 'no enrollment group takes it') : 'no enrollment group on its manufacturer CA' };
}

/**
 * The createdBy of a provision request made on the fly: it says which group or code made it, so
 * that the next CONNECT of the same device continues that request and completion can mark the
 * code REGISTERED.
 */
export const enrollmentCreator = {
  group: (groupId: string): string => `enrollment-group:${groupId}`,
  code: (codeId: string): string => `provisioning-code:${codeId}`,
} as const;

/** The provisioning code whose device a request was made for, or null. */
export function provisioningCodeIdOf(createdBy: string): string | null {
  return createdBy.startsWith('provisioning-code:') ? createdBy.slice('provisioning-code:'.length) : null;
}
