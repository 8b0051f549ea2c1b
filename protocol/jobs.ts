/**
 * JOB-V1: update jobs on the account broker (docs/PROTOCOL.md, "Update jobs (JOB-V1)"). The
 * platform sends a device the latest update job that matches it on `PUT/job` (the §6 envelope of
 * protocol/messages.ts, its body a signed job document, §7); the device reports how it went on
 * `EXEC/progress` (DOWNLOADING, INSTALLED, FAILED with a reason). Topics, schemas, and the
 * encoders and decoders of each message.
 */
import { Type, type Static } from '@sinclair/typebox';
import { Ajv } from 'ajv';
import { check, decodeReply, defaultMaxMessageBytes, encodeReply, parseJson, ProtocolError, type SignatureAlgorithm } from './messages.ts';
import { decodeDevicePayload } from './payload-encoding.ts';
import { ResponseCode } from './response-codes.ts';
import { provisionResultSchema, schemaParts, type Immutable } from './schemas.ts';
import { deviceNamespace } from './topics.ts';

export const jobApp = 'JOB-V1';

/** Platform → device: an update job to carry out. */
export function jobCommandTopic(account: string, clientId: string): string {
  return `${deviceNamespace(account, clientId)}/${jobApp}/PUT/job`;
}

/** Device → platform: how far it got with a job. */
export function jobProgressTopic(account: string, clientId: string): string {
  return `${deviceNamespace(account, clientId)}/${jobApp}/EXEC/progress`;
}

/** What a device subscribes to on the account broker after each CONNECT, before its birth: the job comes right after it. */
export function jobDeviceFilters(account: string, clientId: string): string[] {
  return [jobCommandTopic(account, clientId)];
}

/** The platform's subscription on the account broker: every device's progress reports. */
export const platformJobProgressFilter = `$EDC/+/+/${jobApp}/EXEC/progress`;

/** What a device may report of a job. */
export const jobProgressStates = ['DOWNLOADING', 'INSTALLED', 'FAILED'] as const;
export type JobProgressState = (typeof jobProgressStates)[number];

/** The most an `error.message` may hold, in characters. */
export const jobErrorMessageMaxLength = 1024;

const jobId = Type.String({ pattern: '^[A-Za-z0-9._-]{1,64}$' });

export const jobProgressSchema = Type.Object(
  {
    sentOn: schemaParts.sentOn,
    metrics: Type.Object(
      {
        'job.id': jobId,
        state: Type.Unsafe<JobProgressState>({ type: 'string', enum: [...jobProgressStates] }),
        'error.message': Type.Optional(Type.String({ minLength: 1, maxLength: jobErrorMessageMaxLength })),
      },
      // Messages to the platform: an unknown metric is refused (PROTOCOL.md §4).
      { additionalProperties: false },
    ),
  },
  { $id: 'provisio:job-progress', additionalProperties: false },
);

/** A progress report as it travels (in JSON). */
type JobProgressPayload = Static<typeof jobProgressSchema>;

const jobBundles = provisionResultSchema.properties.bundles;
const jobConfiguration = provisionResultSchema.properties.configuration;

/**
 * The signed body of a job command. Read leniently, like every signed body (§7): an agent ignores
 * fields it does not know. `bundles` are only those the device does not have yet (same name and
 * sha256); `configuration` is present when the job carries one.
 */
export const jobDocumentSchema = Type.Object(
  {
    clientId: schemaParts.clientId,
    /** The command's request.id: fresh for each time the job is sent. */
    requestId: schemaParts.requestId,
    jobId,
    bundles: Type.Array(jobBundles.items, { maxItems: jobBundles.maxItems }),
    configuration: Type.Optional(
      Type.Object(
        {
          configurationId: Type.String({ minLength: 1, maxLength: 128 }),
          version: Type.Integer({ minimum: 1 }),
          content: jobConfiguration.properties.content,
          sha256: jobConfiguration.properties.sha256,
        },
        { additionalProperties: true },
      ),
    ),
    certificates: Type.Object(
      {
        /** Issuing CA, then root. */
        chain: Type.Array(schemaParts.pem, { minItems: 1, maxItems: 4 }),
        signing: schemaParts.pem,
      },
      { additionalProperties: true },
    ),
  },
  { $id: 'provisio:job-document', additionalProperties: true },
);

export type JobDocument = Immutable<Static<typeof jobDocumentSchema>>;

export interface JobProgressMessage {
  readonly sentOn: number;
  readonly jobId: string;
  readonly state: JobProgressState;
  /** Why it failed: present exactly when state is FAILED. */
  readonly errorMessage?: string;
}

/** A job command as it travels: a §6 envelope with response.code 200, its body the signed job document. */
export interface JobCommand {
  readonly sentOn: number;
  readonly requestId: string;
  readonly signature: string;
  readonly signatureAlgorithm: SignatureAlgorithm;
  /** The exact signed bytes: a job document (decodeJobDocument). */
  readonly body: Buffer;
}

const ajv = new Ajv({ allErrors: false, strict: true });
const validators = {
  progress: ajv.compile<JobProgressPayload>(jobProgressSchema),
  document: ajv.compile<JobDocument>(jobDocumentSchema),
};

export function encodeJobProgress(message: Omit<JobProgressMessage, 'sentOn'> & { sentOn?: number }): Buffer {
  const metrics: JobProgressPayload['metrics'] = { 'job.id': message.jobId, state: message.state };
  if (message.errorMessage !== undefined) metrics['error.message'] = message.errorMessage;
  return Buffer.from(JSON.stringify({ sentOn: message.sentOn ?? Date.now(), metrics }));
}

/**
 * A progress report in either encoding a device may use (PROTOCOL.md §4: JSON, or KuraPayload
 * protobuf), checked against the schema; FAILED needs its reason (error.message), which is
 * ignored with the other states. ProtocolError otherwise.
 */
export function decodeJobProgress(payload: Buffer | string, maxBytes = defaultMaxMessageBytes): JobProgressMessage {
  const envelope = check(validators.progress, decodeDevicePayload(payload, 'job progress', maxBytes).message, 'job progress');
  const m = envelope.metrics;
  if (m.state === 'FAILED' && m['error.message'] === undefined) throw new ProtocolError('job progress is invalid at /metrics: FAILED needs error.message');
  return {
    sentOn: envelope.sentOn,
    jobId: m['job.id'],
    state: m.state,
    ...(m.state === 'FAILED' ? { errorMessage: m['error.message'] } : {}),
  };
}

export function encodeJobDocument(document: JobDocument): Buffer {
  return Buffer.from(JSON.stringify(document));
}

/** Parses the signed body of a job command. Verify the signature over `body` first (signing.ts). */
export function decodeJobDocument(body: Buffer): JobDocument {
  return check(validators.document, parseJson(body, 'job document', 1024 * 1024), 'job document');
}

export function encodeJobCommand(command: Omit<JobCommand, 'sentOn'> & { sentOn?: number }): Buffer {
  return encodeReply({ ...command, responseCode: ResponseCode.ok });
}

/** The command as it travels; verify `signature` over `body` (§7) before acting on it. */
export function decodeJobCommand(payload: Buffer | string, maxBytes = 1024 * 1024 * 2): JobCommand {
  const reply = decodeReply(payload, maxBytes);
  if (reply.responseCode !== ResponseCode.ok) throw new ProtocolError(`job command has response.code ${reply.responseCode}, not 200`);
  if (!reply.body || !reply.signature || !reply.signatureAlgorithm) throw new ProtocolError('job command is not signed');
  return { sentOn: reply.sentOn, requestId: reply.requestId, signature: reply.signature, signatureAlgorithm: reply.signatureAlgorithm, body: reply.body };
}
