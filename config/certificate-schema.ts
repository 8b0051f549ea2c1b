/**
 * The settings of device certificates' life: how long they last and when and how often devices
 * renew them (CERT-V1, docs/PROTOCOL.md §13). Part of config/schema.ts, kept here so that each
 * file holds one kind of setting.
 */
import { Type } from '@sinclair/typebox';

export const certificateSettings = {
  deviceCertValiditySeconds: Type.Optional(
    Type.Integer({
      minimum: 60,
      maximum: 3153600000,
      description:
        'Validity of issued device client certificates, in seconds; when set it overrides PROVISIO_DEVICE_CERT_VALIDITY_DAYS (for tests that renew within minutes). Certificates start 5 minutes before their issue (clock skew).',
    }),
  ),
  certificateRenewalShare: Type.Number({
    minimum: 0.1,
    maximum: 0.95,
    default: 0.67,
    description:
      'Share of a device certificate’s validity after which the device should renew it: renewal.after = notBefore + share × (notAfter − notBefore), told in the provision and renewal results.',
  }),
  certificateRenewalGraceSeconds: Type.Integer({
    minimum: 1,
    default: 604800,
    description:
      'After a renewal, the old certificate stays valid until the device connects with the new one, or until this many seconds have passed; then a sweep revokes it (reason superseded).',
  }),
  certificateRenewalSweepIntervalSeconds: Type.Integer({
    minimum: 1,
    default: 600,
    description:
      'How often the grace sweep looks for renewals whose grace has ended (the first run comes at most 5 s after start). It runs in the all-in-one process and in every broker process of a cluster; each renewal is settled once.',
  }),
  platformCertRenewalDays: Type.Integer({
    minimum: 1,
    maximum: 3650,
    default: 60,
    description:
      'The brokers’ server certificate and the message-signing certificate are reissued (new key, same issuing CA) when fewer days than this remain: at start, and by the periodic check of every running process.',
  }),
  platformCertCheckIntervalSeconds: Type.Integer({
    minimum: 1,
    default: 3600,
    description:
      'How often each running process checks its server and message-signing certificates against PROVISIO_PLATFORM_CERT_RENEWAL_DAYS; one that is due is reissued under the CA lock and swapped in place (new TLS connections get the new server certificate, open ones stay).',
  }),
  certificateRenewalBurst: Type.Integer({
    minimum: 1,
    default: 5,
    description: 'Renewal requests one device may send at once (repeats included); beyond it they are answered 429 with retry.after.seconds. Per process.',
  }),
  certificateRenewalsPerHour: Type.Integer({
    minimum: 1,
    default: 12,
    description: 'How fast a device’s renewal allowance refills, in requests per hour.',
  }),
  certificateRenewalMaxInFlight: Type.Integer({
    minimum: 1,
    default: 64,
    description: 'Renewal requests one process handles at once, whatever the device; beyond it devices are answered 429 with retry.after.seconds.',
  }),
};
