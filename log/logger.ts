import { pino, stdSerializers, type Logger, type DestinationStream } from 'pino';

export type { Logger } from 'pino';

/**
 * Field names that hold secrets. Code never logs them on purpose; this redaction is the second
 * line of defence, and the security suite greps the logs for the secrets it used.
 */
const secretPaths = ['password', 'passwd', 'activationKey', 'privateKey', 'key', 'token', 'adminToken', 'authorization', 'secret'];
const redactPaths = [...secretPaths, ...secretPaths.map((path) => `*.${path}`), 'req.headers.authorization'];

export function createLogger(level: string, destination?: DestinationStream): Logger {
  const options = {
    level,
    base: { pid: process.pid },
    redact: { paths: redactPaths, censor: '[redacted]' },
    serializers: { err: stdSerializers.err },
  };
  return destination ? pino(options, destination) : pino(options);
}
