/**
 * The two encodings a device may publish in on the account broker (docs/PROTOCOL.md §4): Kura's
 * "simple JSON" and KuraPayload protobuf, the one Eclipse Kura and ESF gateways use for their
 * birth and lifecycle messages. A message is read into the JSON envelope's shape whichever it came
 * in, so one JSON Schema checks it, and the platform answers in the encoding the device used.
 *
 * This file and messages.ts import each other (messages.ts's decoders read through here, this file
 * throws its ProtocolError and parses with its parseJson); neither uses the other while loading.
 */
import { gunzipSync } from 'node:zlib';
import { decodeKuraPayload, encodeKuraPayload, type KuraMetricValue } from './kura-payload.ts';
import { parseJson, ProtocolError } from './messages.ts';
import { ResponseCode } from './response-codes.ts';

export type PayloadEncoding = 'json' | 'kura-protobuf';

/** A device's message read into the JSON envelope's shape ({sentOn, metrics, body?}, not checked yet), and how it came. */
export interface DecodedDevicePayload {
  readonly message: unknown;
  readonly encoding: PayloadEncoding;
}

/** JSON's whitespace (RFC 8259 §2). */
const whitespace = new Set([0x20, 0x09, 0x0a, 0x0d]);
const openingBrace = 0x7b;

/** Kura compresses a KuraPayload with gzip when that makes it smaller (its `encode.gzip` option); gzip starts with these two bytes. */
function isGzip(bytes: Buffer): boolean {
  return bytes.length >= 2 && bytes[0] === 0x1f && bytes[1] === 0x8b;
}

function gunzip(bytes: Buffer, what: string, maxBytes: number): Buffer {
  try {
    // Bounded: a small gzip bomb must not become a large allocation.
    return gunzipSync(bytes, { maxOutputLength: maxBytes });
  } catch (error) {
    if ((error as { code?: unknown }).code === 'ERR_BUFFER_TOO_LARGE') {
      throw new ProtocolError(`${what} is larger than ${maxBytes} bytes uncompressed`, ResponseCode.tooLarge);
    }
    throw new ProtocolError(`${what} is not valid gzip: ${(error as Error).message}`);
  }
}

/**
 * Reads a device's message: JSON when its first byte other than whitespace is `{`, otherwise
 * KuraPayload protobuf (gzip-compressed or not). A KuraPayload without a timestamp gets the time
 * it was read as `sentOn` (the platform does not check sentOn; some Kura versions send births
 * without one); its position is left out (the envelope has none and the platform keeps none).
 * Throws a ProtocolError: 413 when larger than maxBytes (compressed or not), 400 when empty or
 * neither encoding.
 */
export function decodeDevicePayload(payload: Buffer | string, what: string, maxBytes: number): DecodedDevicePayload {
  let bytes = typeof payload === 'string' ? Buffer.from(payload, 'utf8') : payload;
  if (bytes.length > maxBytes) throw new ProtocolError(`${what} is larger than ${maxBytes} bytes`, ResponseCode.tooLarge);
  if (isGzip(bytes)) bytes = gunzip(bytes, what, maxBytes);
  const first = bytes.find((byte) => !whitespace.has(byte));
  if (first === undefined) throw new ProtocolError(`${what} is empty`);
  if (first === openingBrace) return { message: parseJson(bytes, what, maxBytes), encoding: 'json' };
  let decoded;
  try {
    decoded = decodeKuraPayload(bytes);
  } catch (error) {
    throw new ProtocolError(`${what} is neither JSON nor a KuraPayload: ${(error as Error).message}`);
  }
  const message = { sentOn: decoded.sentOn ?? Date.now(), metrics: decoded.metrics, ...(decoded.body !== undefined ? { body: decoded.body } : {}) };
  return { message, encoding: 'kura-protobuf' };
}

/**
 * A message the platform encoded as JSON (protocol/messages.ts), in the encoding the device it
 * goes to used: unchanged for JSON, the same envelope as KuraPayload for a Kura gateway (metrics
 * typed by value, the base64 body as bytes).
 */
export function inDeviceEncoding(jsonMessage: Buffer, encoding: PayloadEncoding): Buffer {
  if (encoding === 'json') return jsonMessage;
  const envelope = JSON.parse(jsonMessage.toString('utf8')) as { sentOn?: number; metrics?: Record<string, KuraMetricValue>; body?: string };
  return encodeKuraPayload({
    ...(envelope.sentOn !== undefined ? { sentOn: envelope.sentOn } : {}),
    metrics: envelope.metrics ?? {},
    ...(envelope.body !== undefined ? { body: envelope.body } : {}),
  });
}
