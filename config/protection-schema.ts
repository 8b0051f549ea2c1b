/**
 * The settings that bound what a client can make the platform do (lock-out, rates, connection
 * and retained-message limits) and how long the audit log lives: part of config/schema.ts, kept
 * here so that each file holds one kind of setting.
 */
import { Type } from '@sinclair/typebox';

export const protectionSettings = {
  authFailureLimit: Type.Integer({
    minimum: 1,
    default: 10,
    description:
      'Failed CONNECTs of one clientId from one source address before that pair is locked out; the count loses one failure every 15 min / this limit.',
  }),
  authAddressFailureLimit: Type.Integer({
    minimum: 1,
    default: 100,
    description:
      'Failed CONNECTs from one source address, whatever the clientIds, before the address is locked out (many devices may share a NAT); loses one every 15 min / this limit.',
  }),
  authLockoutSeconds: Type.Integer({
    minimum: 1,
    default: 300,
    description: 'How long a locked-out (clientId, address) pair or address is refused.',
  }),
  authFailureDelayMs: Type.Integer({
    minimum: 0,
    maximum: 10000,
    default: 200,
    description: "Delay added to each CONNACK 4, times the clientId's failures from any address (at most 5 s); an accepted CONNECT is never delayed.",
  }),
  provisionerMaxInFlight: Type.Integer({
    minimum: 1,
    default: 512,
    description: 'Provisioning messages a provisioner handles at once; beyond it devices are answered 429 with retry.after.seconds.',
  }),
  provisionMessageBurst: Type.Integer({
    minimum: 1,
    default: 10,
    description:
      'Provisioning messages (provision requests and completion reports) one clientId may send at once; beyond it and PROVISIO_PROVISION_MESSAGES_PER_MINUTE the device is answered 429 with retry.after.seconds, and its messages before that delay get no reply. Counted per provisioner process.',
  }),
  provisionMessagesPerMinute: Type.Integer({
    minimum: 1,
    default: 10,
    description: 'Rate at which a clientId regains provisioning messages after its burst (PROVISIO_PROVISION_MESSAGE_BURST).',
  }),
  birthIntervalSeconds: Type.Integer({
    minimum: 1,
    default: 10,
    description:
      "Account broker: a device's birth messages are handled (recorded, audited, answered with a configuration push) two at once, then one per this many seconds; the latest of those in between is handled when its turn comes, the others are dropped. Counted per broker process.",
  }),
  configurationResendIntervalSeconds: Type.Integer({
    minimum: 1,
    default: 60,
    description:
      'Account broker: at most one configuration push per device per this many seconds while the hash its births report differs from the one the platform holds.',
  }),
  brokerHeartbeatSeconds: Type.Integer({
    minimum: 1,
    maximum: 3600,
    default: 10,
    description:
      'Account broker: each broker process records that it is alive this often; a process silent for three times this long (killed, cut off) is taken as gone, and the devices the registry shows online on it are marked offline.',
  }),
  retainedMessagesPerDevice: Type.Integer({
    minimum: 0,
    default: 10,
    description:
      'Account broker: retained messages one device may hold (0: none). A retained PUBLISH beyond it closes the connection; an empty retained PUBLISH (a deletion) is always accepted. The provision broker refuses every retained PUBLISH.',
  }),
  retainedBytesPerDevice: Type.Integer({
    minimum: 1,
    default: 65536,
    description:
      'Account broker: bytes (topic plus payload) of all the retained messages of one device; a retained PUBLISH that would exceed it closes the connection.',
  }),
  retainedBytesTotal: Type.Integer({
    minimum: 1,
    default: 67108864,
    description:
      'Account broker: bytes (topic plus payload) of the retained messages of all devices, counted per broker process; a retained PUBLISH that would exceed it closes the connection.',
  }),
  mqttConnectionsPerAddress: Type.Integer({
    minimum: 1,
    default: 100,
    description:
      'Open connections one source address (an IPv6 /64) may hold on each MQTT listener; the next one is closed at once. Raise it for sites behind one NAT and for load tests from one host.',
  }),
  mqttConnectTimeoutMs: Type.Integer({
    minimum: 100,
    maximum: 600000,
    default: 10000,
    description:
      'Time from the TCP connection to its CONNECT being answered, TLS handshake included, on every MQTT listener; a connection that takes longer is closed.',
  }),
};

/** Audit log retention and its archive. */
export const auditSettings = {
  auditRetentionDays: Type.Integer({
    minimum: 0,
    maximum: 36500,
    default: 90,
    description:
      'Audit events older than this many days are deleted in the background (0 = kept for ever). Archive them first with PROVISIO_AUDIT_ARCHIVE_DIR; sizes per device and day: docs/OPERATIONS.md.',
  }),
  auditMaxEvents: Type.Integer({
    minimum: 0,
    default: 0,
    description:
      'At most this many audit events are kept, the oldest deleted first, whatever their age (0 = no bound); a deletion before the retention age is logged as a warning.',
  }),
  auditRetentionIntervalSeconds: Type.Integer({
    minimum: 1,
    maximum: 86400,
    default: 3600,
    description:
      'How often audit retention runs (the first run comes at most 5 s after start). It runs in the all-in-one process and in the API process of a cluster, in batches of 500 events.',
  }),
  auditArchiveDir: Type.Optional(
    Type.String({
      minLength: 1,
      description:
        'Directory where audit retention appends each batch of events before deleting it: one NDJSON file per UTC day of the events (audit-YYYY-MM-DD.ndjson, mode 0600), flushed to disk first; a batch that cannot be archived is not deleted. Unset: events are deleted without an archive.',
    }),
  ),
};
