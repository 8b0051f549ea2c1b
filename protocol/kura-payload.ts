/**
 * KuraPayload: the protobuf message Eclipse Kura and ESF gateways publish their birth and
 * lifecycle messages in (package `kuradatatypes`, proto2, Kura's
 * org.eclipse.kura.core.message.protobuf), converted to and from the shape of the §4 JSON
 * envelope (docs/PROTOCOL.md), so that one JSON Schema checks a message whichever encoding it
 * came in. The schema is built here with protobufjs' reflection API rather than loaded from a
 * .proto file, so the compiled product (tsc → dist/) needs no asset beside it:
 *
 *   message KuraPayload {
 *     message KuraMetric {
 *       enum ValueType { DOUBLE = 0; FLOAT = 1; INT64 = 2; INT32 = 3; BOOL = 4; STRING = 5; BYTES = 6; }
 *       required string name = 1;  required ValueType type = 2;
 *       optional double double_value = 3;  optional float float_value = 4;  optional int64 long_value = 5;
 *       optional int32 int_value = 6;  optional bool bool_value = 7;  optional string string_value = 8;
 *       optional bytes bytes_value = 9;
 *     }
 *     message KuraPosition {
 *       required double latitude = 1;  required double longitude = 2;  optional double altitude = 3;
 *       optional double precision = 4;  optional double heading = 5;  optional double speed = 6;
 *       optional int64 timestamp = 7;  optional int32 satellites = 8;  optional int32 status = 9;
 *     }
 *     optional int64 timestamp = 1;  optional KuraPosition position = 2;  extensions 3 to 4999;
 *     repeated KuraMetric metric = 5000;  optional bytes body = 5001;
 *   }
 */
import { Enum, Field, Type } from 'protobufjs/light.js';

/** A metric value as the JSON envelope carries it. */
export type KuraMetricValue = string | number | boolean;

/** Where the device was (Kura's KuraPosition; the platform keeps none of it). */
export interface KuraPosition {
  readonly latitude: number;
  readonly longitude: number;
  readonly altitude?: number;
  readonly precision?: number;
  readonly heading?: number;
  readonly speed?: number;
  /** Milliseconds since the Unix epoch. */
  readonly timestamp?: number;
  readonly satellites?: number;
  readonly status?: number;
}

/**
 * A KuraPayload in the shape of the JSON envelope: `timestamp` is `sentOn` (absent when the
 * sender set none: some Kura versions publish their births without one), `metric` is the `metrics` object (a
 * name given twice: the last one counts, as in JSON), `body` is base64.
 */
export interface KuraPayloadMessage {
  readonly sentOn?: number;
  readonly position?: KuraPosition;
  readonly metrics: Readonly<Record<string, KuraMetricValue>>;
  readonly body?: string;
}

const valueType = new Enum('ValueType', { DOUBLE: 0, FLOAT: 1, INT64: 2, INT32: 3, BOOL: 4, STRING: 5, BYTES: 6 });

const metricType = new Type('KuraMetric')
  .add(valueType)
  .add(new Field('name', 1, 'string', 'required'))
  .add(new Field('type', 2, 'ValueType', 'required'))
  .add(new Field('double_value', 3, 'double', 'optional'))
  .add(new Field('float_value', 4, 'float', 'optional'))
  .add(new Field('long_value', 5, 'int64', 'optional'))
  .add(new Field('int_value', 6, 'int32', 'optional'))
  .add(new Field('bool_value', 7, 'bool', 'optional'))
  .add(new Field('string_value', 8, 'string', 'optional'))
  .add(new Field('bytes_value', 9, 'bytes', 'optional'));

const positionType = new Type('KuraPosition')
  .add(new Field('latitude', 1, 'double', 'required'))
  .add(new Field('longitude', 2, 'double', 'required'))
  .add(new Field('altitude', 3, 'double', 'optional'))
  .add(new Field('precision', 4, 'double', 'optional'))
  .add(new Field('heading', 5, 'double', 'optional'))
  .add(new Field('speed', 6, 'double', 'optional'))
  .add(new Field('timestamp', 7, 'int64', 'optional'))
  .add(new Field('satellites', 8, 'int32', 'optional'))
  .add(new Field('status', 9, 'int32', 'optional'));

const payloadType = new Type('KuraPayload')
  .add(metricType)
  .add(positionType)
  .add(new Field('timestamp', 1, 'int64', 'optional'))
  .add(new Field('position', 2, 'KuraPosition', 'optional'))
  .add(new Field('metric', 5000, 'KuraMetric', 'repeated'))
  .add(new Field('body', 5001, 'bytes', 'optional'));
payloadType.extensions = [[3, 4999]];

/** The numbers of ValueType, by name. */
const ValueType = { DOUBLE: 0, FLOAT: 1, INT64: 2, INT32: 3, BOOL: 4, STRING: 5, BYTES: 6 } as const;

const int32Min = -(2 ** 31);
const int32Max = 2 ** 31 - 1;

/** The plain object protobufjs' toObject gives (int64 as decimal strings, bytes as base64). */
interface DecodedMetric {
  name?: string;
  type?: number;
  double_value?: number;
  float_value?: number;
  long_value?: string;
  int_value?: number;
  bool_value?: boolean;
  string_value?: string;
  bytes_value?: string;
}
interface DecodedPosition extends Omit<KuraPosition, 'timestamp' | 'latitude' | 'longitude'> {
  latitude?: number;
  longitude?: number;
  timestamp?: string;
}
interface DecodedPayload {
  timestamp?: string;
  position?: DecodedPosition;
  metric?: DecodedMetric[];
  body?: string;
}

/** int64 read as a decimal string: a number when it is one exactly. */
function int64Value(decimal: string): number | string {
  const value = BigInt(decimal);
  return value >= BigInt(Number.MIN_SAFE_INTEGER) && value <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(value) : decimal;
}

/** A time in milliseconds: beyond 2^53 ms (year 287,396) it is no time, and the message is refused. */
function timeValue(decimal: string, what: string): number {
  const value = int64Value(decimal);
  if (typeof value !== 'number') throw new Error(`${what} ${decimal} is out of range`);
  return value;
}

/** protobufjs does not check `required` on decode: a metric without a name or type is refused here. */
function metricValue(metric: DecodedMetric & { name: string }): KuraMetricValue {
  const missing = (field: string): never => {
    throw new Error(`metric "${metric.name}" of type ${valueType.valuesById[metric.type ?? -1]} has no ${field}`);
  };
  switch (metric.type) {
    case ValueType.DOUBLE:
      return metric.double_value ?? missing('double_value');
    case ValueType.FLOAT:
      return metric.float_value ?? missing('float_value');
    case ValueType.INT64:
      // A value past 2^53 stays exact as its decimal digits (a JSON number would round it).
      return int64Value(metric.long_value ?? missing('long_value'));
    case ValueType.INT32:
      return metric.int_value ?? missing('int_value');
    case ValueType.BOOL:
      return metric.bool_value ?? missing('bool_value');
    case ValueType.STRING:
      return metric.string_value ?? missing('string_value');
    case ValueType.BYTES:
      // The JSON envelope has no bytes: base64, as its body is.
      return metric.bytes_value ?? missing('bytes_value');
    case undefined:
      throw new Error(`metric "${metric.name}" has no type`);
    default:
      throw new Error(`metric "${metric.name}" has unknown type ${metric.type}`);
  }
}

/**
 * Decodes KuraPayload bytes. Throws an Error saying what is wrong (not protobuf, a required field
 * missing, a metric without the value its type names, a time out of range); never anything else.
 */
export function decodeKuraPayload(bytes: Uint8Array): KuraPayloadMessage {
  let decoded: DecodedPayload;
  try {
    decoded = payloadType.toObject(payloadType.decode(bytes), { longs: String, bytes: String, enums: Number }) as DecodedPayload;
  } catch (error) {
    throw new Error(`not a KuraPayload: ${(error as Error).message}`);
  }
  const metrics: Record<string, KuraMetricValue> = {};
  for (const metric of decoded.metric ?? []) {
    if (metric.name === undefined) throw new Error('a metric has no name');
    metrics[metric.name] = metricValue({ ...metric, name: metric.name });
  }
  let position: KuraPosition | undefined;
  if (decoded.position) {
    const { latitude, longitude, timestamp, ...rest } = decoded.position;
    if (latitude === undefined || longitude === undefined) throw new Error('position has no latitude or longitude');
    position = { latitude, longitude, ...rest, ...(timestamp !== undefined ? { timestamp: timeValue(timestamp, 'position timestamp') } : {}) };
  }
  return {
    ...(decoded.timestamp !== undefined ? { sentOn: timeValue(decoded.timestamp, 'timestamp') } : {}),
    ...(position ? { position } : {}),
    metrics,
    ...(decoded.body !== undefined ? { body: decoded.body } : {}),
  };
}

/** One metric in the type a Kura reader expects of its value: whole numbers as INT32 (INT64 past it), others as DOUBLE. */
function encodeMetric(name: string, value: KuraMetricValue): Record<string, unknown> {
  if (typeof value === 'string') return { name, type: ValueType.STRING, string_value: value };
  if (typeof value === 'boolean') return { name, type: ValueType.BOOL, bool_value: value };
  if (!Number.isInteger(value)) return { name, type: ValueType.DOUBLE, double_value: value };
  if (value >= int32Min && value <= int32Max) return { name, type: ValueType.INT32, int_value: value };
  return { name, type: ValueType.INT64, long_value: value };
}

/**
 * Encodes a message of the JSON envelope's shape as KuraPayload bytes: `sentOn` as the
 * timestamp, each metric typed by its value (strings STRING, booleans BOOL, whole numbers INT32
 * or INT64, others DOUBLE; undefined values left out, as JSON.stringify does), `body` (base64)
 * as bytes.
 */
export function encodeKuraPayload(message: {
  readonly sentOn?: number;
  readonly position?: KuraPosition;
  readonly metrics: Readonly<Record<string, KuraMetricValue | undefined>>;
  readonly body?: string;
}): Buffer {
  const metric = Object.entries(message.metrics).flatMap(([name, value]) => (value === undefined ? [] : [encodeMetric(name, value)]));
  const object = {
    ...(message.sentOn !== undefined ? { timestamp: message.sentOn } : {}),
    ...(message.position ? { position: message.position } : {}),
    metric,
    ...(message.body !== undefined ? { body: Buffer.from(message.body, 'base64') } : {}),
  };
  return Buffer.from(payloadType.encode(payloadType.fromObject(object)).finish());
}
