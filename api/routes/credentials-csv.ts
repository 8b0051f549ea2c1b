import type { CreatedProvisionRequest } from '../provision-request-types.ts';

/** RFC 4180 field: quoted when it holds a comma, quote or line break. */
function csvField(value: string): string {
  return /[",\r\n]/.test(value) ? `"${value.replace(/"/g, '""')}"` : value;
}

/**
 * The fleet credential file: `clientId,username,password,activationKey`, one device a line.
 * Lines end with LF. The device simulator reads it; it holds secrets, so it exists only in this answer.
 */
export function credentialsCsv(created: readonly CreatedProvisionRequest[]): string {
  const lines = ['clientId,username,password,activationKey'];
  for (const { request, credentials } of created) {
    lines.push([request.clientId, credentials.username, credentials.password, credentials.activationKey ?? ''].map(csvField).join(','));
  }
  return `${lines.join('\n')}\n`;
}
