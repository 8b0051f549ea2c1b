import { randomBytes } from 'node:crypto';
import type { NewEnrollmentGroup, NewManufacturerCa, NewProvisioningCode } from '../../store/enrollment-types.ts';
import { uniqueName } from './fixtures.ts';

/** Records of zero-touch onboarding (issue 18) as the API would hand them to the store. */

const day = 24 * 60 * 60 * 1000;

/** A manufacturer CA; the PEM is a placeholder (the store keeps it as given), the fingerprint random and upper-case. */
export function newManufacturerCa(overrides: Partial<NewManufacturerCa> = {}): NewManufacturerCa {
  return {
    name: uniqueName('maker'),
    pem: '-----BEGIN CERTIFICATE-----\nTUFLRVI=\n-----END CERTIFICATE-----\n',
    fingerprintSha256: randomBytes(32).toString('hex').toUpperCase(),
    subject: 'CN=Maker Factory CA',
    notAfter: Date.now() + 3650 * day,
    enabled: true,
    ...overrides,
  };
}

export function newEnrollmentGroup(accountId: string, manufacturerCaId: string, overrides: Partial<NewEnrollmentGroup> = {}): NewEnrollmentGroup {
  return {
    name: uniqueName('group'),
    accountId,
    manufacturerCaId,
    category: null,
    configurationId: null,
    bundleIds: [],
    tags: [],
    allowSerials: [],
    allowClientIds: [],
    denySerials: [],
    denyClientIds: [],
    validFrom: null,
    validUntil: null,
    reprovisionAllowed: false,
    provisionBrokerUrl: null,
    enabled: true,
    ...overrides,
  };
}

/** A code with a random hash, valid for a week. */
export function newProvisioningCode(accountId: string, overrides: Partial<NewProvisioningCode> = {}): NewProvisioningCode {
  return {
    accountId,
    category: null,
    codeHash: randomBytes(32).toString('hex'),
    createdBy: 'admin',
    expiresOn: Date.now() + 7 * day,
    ...overrides,
  };
}
