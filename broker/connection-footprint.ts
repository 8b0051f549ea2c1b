import { createRequire } from 'node:module';
import type { Client, ConnectPacket } from 'aedes';
import mqttPacket from 'mqtt-packet';

/**
 * Issue 6: what aedes and mqtt-packet keep for an idle connection that nobody reads again.
 * Found in heap snapshots of the platform at 0 and 3,000 idle connections (npm run bench:idle
 * measures the RSS). Each step checks the shape it expects and otherwise leaves the client as it is:
 * a changed dependency costs memory, never behaviour (test/broker-connection-footprint.test.ts
 * fails if the savings are lost).
 *
 * slimParser and forgetConnectPacket edit private fields of mqtt-packet's parser (aedes'
 * client._parser). The upstream change that makes them unnecessary, written up with its measured
 * effect and tests: docs/upstream/mqtt-packet-parser-footprint.md. The other two upstream
 * write-ups, which let patches/ and the packet-size guard in listeners.ts go:
 * docs/upstream/aedes-clean-session-queue.md and docs/upstream/aedes-max-packet-size.md.
 */

// The plain byte list mqtt-packet's parser needs, from the copy of `bl` that mqtt-packet itself loads.
const requireFromMqttPacket = createRequire(createRequire(import.meta.url).resolve('mqtt-packet'));
const BufferList = requireFromMqttPacket('bl/BufferList.js') as new () => unknown;

/** The parts of aedes' client and mqtt-packet's parser touched here (both private to aedes). */
interface ParserInternals {
  settings?: unknown;
  _list?: { length?: unknown; append?: unknown; _readableState?: unknown };
}

function parserOf(client: Client): ParserInternals | null {
  const parser = (client as unknown as { _parser?: ParserInternals })._parser;
  return parser && typeof parser === 'object' ? parser : null;
}

/**
 * mqtt-packet builds, at the first packet it writes, a cache of 65,536 two-byte Buffers (one per
 * 16-bit number: packet ids, string lengths), about 7 MB of heap for the life of the process. Writing
 * those two bytes when needed costs next to nothing (mqtt-packet's documented `cacheNumbers` switch).
 */
export function releaseNumberCache(): void {
  mqttPacket.writeToStream.cacheNumbers = false;
}

/**
 * The parser buffers incoming bytes in a BufferListStream: a readable-stream Duplex (read and write
 * state, event table, callbacks; about 750 bytes) that mqtt-packet only ever uses as a plain list
 * of Buffers (append, read, slice, consume). Swapped for that list when the connection is handed to aedes.
 */
export function slimParser(client: Client): void {
  const parser = parserOf(client);
  const list = parser?._list;
  if (!parser || !list || list.length !== 0 || typeof list.append !== 'function' || list._readableState === undefined) return;
  parser._list = new BufferList() as ParserInternals['_list'];
}

/**
 * After CONNECT the parser keeps the whole CONNECT packet as its settings (clientId, user name,
 * password Buffer, will) for as long as the connection lives, and reads only two fields of it
 * again. Keep those two: the packet, and the password in it, become garbage once CONNECT is handled.
 */
export function forgetConnectPacket(client: Client, packet: ConnectPacket): void {
  const parser = parserOf(client);
  if (!parser || parser.settings !== packet) return;
  const { protocolVersion, bridgeMode } = packet as ConnectPacket & { bridgeMode?: boolean };
  parser.settings = bridgeMode === undefined ? { protocolVersion } : { protocolVersion, bridgeMode };
}
