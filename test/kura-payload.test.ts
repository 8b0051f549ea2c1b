import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { gzipSync } from 'node:zlib';
import { parse } from 'protobufjs';
import { decodeKuraPayload, encodeKuraPayload } from '../protocol/kura-payload.ts';
import { decodeBirth, encodeBirth, encodeConfigurationPush, ProtocolError } from '../protocol/messages.ts';
import { decodeDevicePayload, inDeviceEncoding } from '../protocol/payload-encoding.ts';
import { ResponseCode } from '../protocol/response-codes.ts';
import { birthTopic } from '../protocol/topics.ts';
import { createAccountAndRequest, startTestPlatform, type TestPlatform } from './support/platform-fixture.ts';
import { eventually } from './support/security-kit.ts';
import { connectAccount, provisionOverMqtt } from './support/wire-provisioning.ts';

/**
 * The second route to the bytes: the .proto text docs/PROTOCOL.md §4 prints (Eclipse Kura's public
 * kurapayload.proto), parsed by protobufjs' own .proto parser, not the reflection-built schema of
 * protocol/kura-payload.ts. So the document is checked too.
 */
const protocolDoc = await readFile(new URL('../docs/PROTOCOL.md', import.meta.url), 'utf8');
const kuraProto = /```proto\n([\s\S]*?)```/.exec(protocolDoc)?.[1];
assert.ok(kuraProto, 'docs/PROTOCOL.md prints the KuraPayload .proto');
const kuraType = parse(kuraProto, { keepCase: true }).root.lookupType('kuradatatypes.KuraPayload');
const STRING = 5;

/** A birth certificate as a Kura gateway builds it: every metric a STRING (KuraBirthPayload), a position from its profile. */
function kuraBirthBytes(facts: { model: string; serial: string; firmware: string }, timestamp?: number): Buffer {
  const metrics: Record<string, string> = {
    uptime: '12345',
    display_name: 'Gateway in hall 3',
    model_name: facts.model,
    model_id: 'RG-40',
    part_number: 'RG40-EU',
    serial_number: facts.serial,
    firmware_version: facts.firmware,
    bios_version: 'N/A',
    os: 'Linux',
    os_version: '5.15.0',
    jvm_name: 'OpenJDK 64-Bit Server VM',
    jvm_version: '17.0.9',
    kura_version: '5.4.0',
    application_framework: 'Kura',
    connection_interface: 'eth0 (00:11:22:33:44:55)',
    connection_ip: '192.0.2.10',
    accept_encoding: 'gzip',
    application_ids: 'CONF-V1,DEPLOY-V2,CMD-V1',
    payload_encoding: 'KURA_PROTOBUF',
  };
  const message = kuraType.fromObject({
    ...(timestamp !== undefined ? { timestamp } : {}),
    position: { latitude: 45.5, longitude: 9.2, altitude: 120 },
    metric: Object.entries(metrics).map(([name, value]) => ({ name, type: STRING, string_value: value })),
  });
  return Buffer.from(kuraType.encode(message).finish());
}

function protocolError(code: number, pattern: RegExp) {
  return (error: unknown): boolean => {
    assert.ok(error instanceof ProtocolError, `a ProtocolError, got ${String(error)}`);
    assert.equal(error.responseCode, code);
    assert.match(error.message, pattern);
    return true;
  };
}

describe('KuraPayload protobuf', () => {
  it('Should give back what it encoded, each value in its type', () => {
    const message = {
      sentOn: 1_732_365_000_000,
      position: { latitude: 45.5, longitude: 9.2, altitude: 120, timestamp: 1_732_364_999_000, satellites: 7 },
      metrics: { text: 'hello', small: 42, negative: -7, large: 2 ** 40, fraction: 0.25, flag: true, off: false, empty: '' },
      body: Buffer.from('{"signed":true}').toString('base64'),
    };
    assert.deepEqual(decodeKuraPayload(encodeKuraPayload(message)), message);
  });

  it('Should write bytes that protobufjs reads with the schema parsed from the .proto text, and read the bytes it writes', () => {
    const bytes = encodeKuraPayload({
      sentOn: 1_732_365_000_000,
      metrics: { 'response.code': 200, model_name: 'RG-40', big: 2 ** 33, ratio: 1.5, ok: true },
      body: 'AAEC',
    });
    const read = kuraType.toObject(kuraType.decode(bytes), { longs: Number, enums: String }) as {
      timestamp: number;
      metric: { name: string; type: string; [value: string]: unknown }[];
      body: Buffer;
    };
    assert.equal(read.timestamp, 1_732_365_000_000);
    assert.deepEqual(
      read.metric.map(({ name, type, ...value }) => [name, type, value]),
      [
        ['response.code', 'INT32', { int_value: 200 }],
        ['model_name', 'STRING', { string_value: 'RG-40' }],
        ['big', 'INT64', { long_value: 2 ** 33 }],
        ['ratio', 'DOUBLE', { double_value: 1.5 }],
        ['ok', 'BOOL', { bool_value: true }],
      ],
    );
    assert.deepEqual([...read.body], [0, 1, 2]);

    const other = kuraType
      .encode(
        kuraType.fromObject({
          timestamp: 1_732_365_000_000,
          metric: [
            { name: 'f', type: 'FLOAT', float_value: 0.5 },
            { name: 'l', type: 'INT64', long_value: '9007199254740993' },
            { name: 'b', type: 'BYTES', bytes_value: Buffer.from([1, 2, 3]) },
          ],
        }),
      )
      .finish();
    // An int64 past 2^53 stays exact as its decimal digits; bytes come as base64, as the JSON envelope has them.
    assert.deepEqual(decodeKuraPayload(other), { sentOn: 1_732_365_000_000, metrics: { f: 0.5, l: '9007199254740993', b: 'AQID' } });
  });

  it("Should read a Kura gateway's birth certificate: model, serial and firmware, no configuration hash", () => {
    const birth = decodeBirth(kuraBirthBytes({ model: 'ReliaGATE 10-40', serial: 'SN-0042', firmware: '2.1.7' }, 1_732_365_000_000));
    assert.deepEqual(birth, {
      sentOn: 1_732_365_000_000,
      encoding: 'kura-protobuf',
      configurationHash: null,
      model: 'ReliaGATE 10-40',
      serial: 'SN-0042',
      firmware: '2.1.7',
    });
  });

  it('Should read a birth Kura compressed with gzip, and one without a timestamp (sentOn = when it was read)', () => {
    const plain = kuraBirthBytes({ model: 'm', serial: 's', firmware: 'f' });
    const before = Date.now();
    const birth = decodeBirth(gzipSync(plain));
    assert.equal(birth.encoding, 'kura-protobuf');
    assert.equal(birth.serial, 's');
    assert.ok(birth.sentOn >= before && birth.sentOn <= Date.now());
  });

  it('Should still read JSON births (leading whitespace too) and still require their configuration hash', () => {
    const hash = 'a'.repeat(64);
    const json = decodeBirth(Buffer.concat([Buffer.from(' \r\n\t'), encodeBirth({ configurationHash: hash, model: 'x' })]));
    assert.equal(json.encoding, 'json');
    assert.equal(json.configurationHash, hash);
    assert.throws(() => decodeBirth(JSON.stringify({ sentOn: 1, metrics: { model_name: 'x' } })), protocolError(400, /birth message is invalid at \/metrics/));
    // A KuraPayload that does name a hash gets it checked like a JSON one.
    const withHash = encodeKuraPayload({ sentOn: 1, metrics: { 'configuration.hash': 'b'.repeat(64) } });
    assert.equal(decodeBirth(withHash).configurationHash, 'b'.repeat(64));
    assert.throws(() => decodeBirth(encodeKuraPayload({ sentOn: 1, metrics: { 'configuration.hash': 'not hex' } })), protocolError(400, /configuration\.hash/));
  });

  it('Should refuse malformed bytes with a ProtocolError that says why, and nothing else', () => {
    const cases: [Buffer, number, RegExp][] = [
      [Buffer.alloc(0), 400, /birth message is empty/],
      [Buffer.from('  \n'), 400, /birth message is empty/],
      [Buffer.from('{"sentOn": 1, '), 400, /birth message is not valid JSON/],
      [Buffer.from([0x0f, 0xff]), 400, /neither JSON nor a KuraPayload: not a KuraPayload: invalid wire type/],
      [kuraBirthBytes({ model: 'm', serial: 's', firmware: 'f' }, 1).subarray(0, 40), 400, /neither JSON nor a KuraPayload/],
      [
        Buffer.from(kuraType.encode(kuraType.fromObject({ metric: [{ name: 'x', type: STRING }] })).finish()),
        400,
        /metric "x" of type STRING has no string_value/,
      ],
      // metric 5000 { name "x", type 42, int_value 1 }: a ValueType no Kura knows.
      [Buffer.from('c2b802070a017810' + '2a3001', 'hex'), 400, /metric "x" has unknown type 42/],
      [Buffer.from([0xc2, 0xb8, 0x02, 0x02, 0x10, 0x05]), 400, /a metric has no name/],
      [Buffer.from([0x1f, 0x8b, 0x08, 0x00, 0x01]), 400, /birth message is not valid gzip/],
      [Buffer.alloc(70_000, 0x20), 413, /larger than 65536 bytes/],
      [gzipSync(Buffer.alloc(1_000_000)), 413, /larger than 65536 bytes uncompressed/],
    ];
    for (const [bytes, code, pattern] of cases) assert.throws(() => decodeBirth(bytes), protocolError(code, pattern), bytes.toString('hex').slice(0, 40));
    // Noise: always a ProtocolError, never another kind of exception.
    for (let i = 0; i < 2000; i++) {
      const noise = randomBytes(1 + (i % 64));
      try {
        decodeDevicePayload(noise, 'noise', 65536);
      } catch (error) {
        assert.ok(error instanceof ProtocolError, `${noise.toString('hex')}: ${String(error)}`);
      }
    }
  });

  it('Should put a message the platform encodes as JSON into KuraPayload for a Kura gateway, its signed body as bytes', () => {
    const body = Buffer.from('{"clientId":"gw-1","content":"{}","sha256":"00"}');
    const json = encodeConfigurationPush({ requestId: 'r-1', signature: 'c2ln', signatureAlgorithm: 'SHA256withECDSA', body, sentOn: 5 });
    assert.equal(inDeviceEncoding(json, 'json'), json);
    const read = decodeKuraPayload(inDeviceEncoding(json, 'kura-protobuf'));
    assert.deepEqual(read, {
      sentOn: 5,
      metrics: { 'request.id': 'r-1', 'response.code': 200, signature: 'c2ln', 'signature.algorithm': 'SHA256withECDSA' },
      body: body.toString('base64'),
    });
    assert.deepEqual(Buffer.from(read.body!, 'base64'), body, 'the exact signed bytes');
    assert.equal(ResponseCode.ok, read.metrics['response.code']);
  });
});

describe('a Kura gateway on the account broker', () => {
  let fixture: TestPlatform;
  before(async () => {
    fixture = await startTestPlatform();
  });
  after(() => fixture.close());

  it('Should record a KuraPayload protobuf birth from a real MQTT client: online, with its model, serial and firmware', async () => {
    const clientId = 'kura-gw-1';
    const request = await createAccountAndRequest(fixture, clientId);
    const device = await provisionOverMqtt({
      provisionUrl: `mqtts://localhost:${fixture.platform.provisionBroker.mqttsPort}`,
      rootPem: fixture.rootPem,
      clientId,
      username: request.username,
      password: request.password,
      requestId: 'kura-provision-1',
    });
    const client = await connectAccount(`mqtts://localhost:${fixture.platform.accountBroker.mqttsPort}`, fixture.rootPem, clientId, device);
    try {
      const facts = { model: 'ReliaGATE 10-40', serial: 'SN-7781', firmware: '4.2.0' };
      // As Kura publishes it with encode.gzip on: compressed, being smaller so.
      await client.publishAsync(birthTopic('acme', clientId), gzipSync(kuraBirthBytes(facts, Date.now())), { qos: 1 });
      const record = await eventually(
        () => fixture.platform.store.getDevice(request.accountId, clientId),
        (found) => found?.lastBirthOn != null,
        'KuraPayload birth recorded',
      );
      assert.equal(record?.online, true);
      assert.deepEqual({ model: record?.model, serial: record?.serial, firmware: record?.firmware }, facts);
      assert.doesNotMatch(fixture.logText(), /birth message not handled/);
    } finally {
      await client.endAsync();
    }
  });
});
