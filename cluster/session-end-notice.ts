/**
 * "End these live sessions": what the admin API and the provisioner tell every broker process
 * when credentials stop being valid while a device is connected with them (issue 20 §1). A
 * broker checks credentials at CONNECT only; a notice reaches the sessions that were already
 * open. One process applies it in place (broker/session-terminator.ts `localSessionEnder`); a
 * cluster carries it on a Redis stream that every broker process reads in full
 * (cluster/session-end-stream.ts).
 */
export type SessionEndNotice =
  /** The account-broker session that authenticated with this certificate (clientId and serial). */
  | { readonly kind: 'certificate'; readonly clientId: string; readonly serial: string; readonly cause: SessionEndCause }
  /** The provision-broker session that authenticated with this provision request. */
  | { readonly kind: 'provision-request'; readonly clientId: string; readonly provisionRequestId: string; readonly cause: SessionEndCause }
  /** Every session of the account, on both brokers. */
  | { readonly kind: 'account'; readonly accountId: string; readonly cause: SessionEndCause }
  /** The provision-broker sessions a factory certificate opened (it was blocked: docs/PROTOCOL.md §17). */
  | { readonly kind: 'factory-certificate'; readonly manufacturerCaId: string; readonly serial: string; readonly cause: SessionEndCause }
  /** The provision-broker sessions of the factory devices an enrollment group admitted (disabled or deleted). */
  | { readonly kind: 'enrollment-group'; readonly enrollmentGroupId: string; readonly cause: SessionEndCause }
  /** The provision-broker sessions of the factory certificates of a manufacturer CA (disabled or deleted). */
  | { readonly kind: 'manufacturer-ca'; readonly manufacturerCaId: string; readonly cause: SessionEndCause };

/** Why, for the log line of each session ended. */
export type SessionEndCause = 'revoked' | 'superseded' | 'disabled' | 'deleted' | 'blocked';

const causes: readonly SessionEndCause[] = ['revoked', 'superseded', 'disabled', 'deleted', 'blocked'];

export interface SessionEnder {
  /**
   * One process: resolves once the matching sessions are closed. Cluster: once the notice is in
   * the stream; every broker process applies it within the bound docs/SECURITY.md states.
   */
  endSessions(notice: SessionEndNotice): Promise<void>;
}

export function sessionEndStreamKey(redisKeyPrefix: string): string {
  return `${redisKeyPrefix}stream:session-end`;
}

/** XADD field list: kind, cause, then the fields of that kind. */
export function encodeSessionEndFields(notice: SessionEndNotice): string[] {
  const head = ['kind', notice.kind, 'cause', notice.cause];
  switch (notice.kind) {
    case 'certificate':
      return [...head, 'clientId', notice.clientId, 'serial', notice.serial];
    case 'provision-request':
      return [...head, 'clientId', notice.clientId, 'provisionRequestId', notice.provisionRequestId];
    case 'account':
      return [...head, 'accountId', notice.accountId];
    case 'factory-certificate':
      return [...head, 'manufacturerCaId', notice.manufacturerCaId, 'serial', notice.serial];
    case 'enrollment-group':
      return [...head, 'enrollmentGroupId', notice.enrollmentGroupId];
    case 'manufacturer-ca':
      return [...head, 'manufacturerCaId', notice.manufacturerCaId];
  }
}

/** From an XREAD field list (read as buffers); null for an entry that is not a whole notice. */
export function decodeSessionEndFields(fields: readonly Buffer[] | null | undefined): SessionEndNotice | null {
  if (!fields) return null;
  const values = new Map<string, string>();
  for (let i = 0; i + 1 < fields.length; i += 2) values.set(fields[i]!.toString('utf8'), fields[i + 1]!.toString('utf8'));
  const cause = values.get('cause') as SessionEndCause | undefined;
  if (cause === undefined || !causes.includes(cause)) return null;
  const clientId = values.get('clientId');
  switch (values.get('kind')) {
    case 'certificate': {
      const serial = values.get('serial');
      return clientId && serial ? { kind: 'certificate', clientId, serial, cause } : null;
    }
    case 'provision-request': {
      const provisionRequestId = values.get('provisionRequestId');
      return clientId && provisionRequestId ? { kind: 'provision-request', clientId, provisionRequestId, cause } : null;
    }
    case 'account': {
      const accountId = values.get('accountId');
      return accountId ? { kind: 'account', accountId, cause } : null;
    }
    case 'factory-certificate': {
      const manufacturerCaId = values.get('manufacturerCaId');
      const serial = values.get('serial');
      return manufacturerCaId && serial ? { kind: 'factory-certificate', manufacturerCaId, serial, cause } : null;
    }
    case 'enrollment-group': {
      const enrollmentGroupId = values.get('enrollmentGroupId');
      return enrollmentGroupId ? { kind: 'enrollment-group', enrollmentGroupId, cause } : null;
    }
    case 'manufacturer-ca': {
      const manufacturerCaId = values.get('manufacturerCaId');
      return manufacturerCaId ? { kind: 'manufacturer-ca', manufacturerCaId, cause } : null;
    }
    default:
      return null;
  }
}
