/**
 * The three MQTT 3.1.1 packets a connect benchmark needs, encoded by hand so that the load client
 * costs as little as possible: CONNECT, CONNACK (read) and DISCONNECT.
 */

export interface ConnectFields {
  readonly clientId: string;
  readonly username?: string;
  readonly password?: string;
  /** Seconds; 0 disables keep-alive [MQTT-3.1.2-24]. */
  readonly keepalive: number;
  readonly clean: boolean;
}

function utf8Field(value: string): Buffer {
  const bytes = Buffer.from(value, 'utf8');
  const field = Buffer.allocUnsafe(2 + bytes.length);
  field.writeUInt16BE(bytes.length, 0);
  bytes.copy(field, 2);
  return field;
}

function remainingLength(length: number): Buffer {
  const bytes: number[] = [];
  do {
    let byte = length % 128;
    length = Math.floor(length / 128);
    if (length > 0) byte |= 0x80;
    bytes.push(byte);
  } while (length > 0);
  return Buffer.from(bytes);
}

export function encodeConnect(fields: ConnectFields): Buffer {
  let flags = fields.clean ? 0x02 : 0;
  if (fields.username !== undefined) flags |= 0x80;
  if (fields.password !== undefined) flags |= 0x40;
  const header = Buffer.from([0x00, 0x04, 0x4d, 0x51, 0x54, 0x54, 0x04, flags, fields.keepalive >> 8, fields.keepalive & 0xff]);
  const parts = [header, utf8Field(fields.clientId)];
  if (fields.username !== undefined) parts.push(utf8Field(fields.username));
  if (fields.password !== undefined) parts.push(utf8Field(fields.password));
  const body = Buffer.concat(parts);
  return Buffer.concat([Buffer.from([0x10]), remainingLength(body.length), body]);
}

export const disconnectPacket = Buffer.from([0xe0, 0x00]);

/**
 * The CONNACK return code from the first bytes a broker sends, or undefined while fewer than four
 * bytes have arrived. Throws when the first packet is not a CONNACK [MQTT-3.2.0-1].
 */
export function connackReturnCode(received: Buffer): number | undefined {
  if (received.length < 4) return undefined;
  if (received[0] !== 0x20 || received[1] !== 0x02) throw new Error(`expected CONNACK, got 0x${received.subarray(0, 4).toString('hex')}`);
  return received[3];
}
