/**
 * The two ways of zero-touch onboarding a device meets on the provision broker (docs/PROTOCOL.md
 * §17 and §18): a factory certificate (mutual TLS, no password) or a provisioning code.
 */

/** The CONNECT user name of a device that gives a provisioning code as its password. */
export const provisioningCodeUsername = 'provisioning-code';

/** Digits of a provisioning code: 10^12 codes, 39.9 bits. */
export const provisioningCodeDigits = 12;

/**
 * The code a person typed, as the platform compares it: spaces and dashes dropped (a code is
 * shown as 1234-5678-9012). null when what is left is not 12 digits.
 */
export function normalizeProvisioningCode(typed: string): string | null {
  const digits = typed.replace(/[\s-]/g, '');
  return /^\d{12}$/.test(digits) ? digits : null;
}

/** How a code is shown to people: three groups of four digits. */
export function formatProvisioningCode(digits: string): string {
  return `${digits.slice(0, 4)}-${digits.slice(4, 8)}-${digits.slice(8, 12)}`;
}
