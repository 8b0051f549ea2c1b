import type { DeviceFilter, DeviceRecord } from '../types.ts';

/**
 * The part of a DeviceFilter that listDevices checks record by record (store/redis/redis-devices.ts
 * picks the index from accountId and category); undefined when nothing is left to check, so the
 * index alone answers the page and its total.
 */
export function deviceMatcher(filter: DeviceFilter): ((device: DeviceRecord) => boolean) | undefined {
  const checks: ((device: DeviceRecord) => boolean)[] = [];
  const { clientId, online, category, tag, model, firmware, brokerId, configurationInSync, certificateExpiresBefore, trustsRoot } = filter;
  if (clientId !== undefined) checks.push((device) => device.clientId === clientId);
  if (online !== undefined) checks.push((device) => device.online === online);
  // A record can change category between the read of the category index and its load: the record decides.
  if (category !== undefined) checks.push((device) => device.category === category);
  if (tag !== undefined) checks.push((device) => device.tags.includes(tag));
  if (trustsRoot !== undefined) checks.push((device) => device.trustedRoots.includes(trustsRoot));
  if (model !== undefined) checks.push((device) => device.model === model);
  if (firmware !== undefined) checks.push((device) => device.firmware === firmware);
  if (brokerId !== undefined) checks.push((device) => device.brokerId === brokerId);
  if (configurationInSync !== undefined) {
    checks.push(
      (device) => device.expectedConfigurationHash !== null && (device.expectedConfigurationHash === device.reportedConfigurationHash) === configurationInSync,
    );
  }
  if (certificateExpiresBefore !== undefined) {
    checks.push((device) => device.certificateNotAfter !== null && device.certificateNotAfter < certificateExpiresBefore);
  }
  return checks.length === 0 ? undefined : (device) => checks.every((check) => check(device));
}
