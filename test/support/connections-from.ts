/**
 * Connections from a chosen loopback address (on Linux every 127.x.y.z is loopback, so a client
 * bound to 127.0.0.2 is another source address for a listener on 127.0.0.1), and what the
 * platform logged about them.
 */
import { connect as tcpConnect, type Socket } from 'node:net';
import { connect as tlsConnect, type ConnectionOptions, type TLSSocket } from 'node:tls';
import { MqttClient, type IClientOptions } from 'mqtt';
import mqttPacket from 'mqtt-packet';

/** A plain TCP connection from `localAddress`, once connected (the listener may still close it at once). */
export function tcpFrom(port: number, localAddress: string): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const socket = tcpConnect({ host: '127.0.0.1', port, localAddress });
    socket.once('connect', () => {
      socket.off('error', reject);
      socket.on('error', () => undefined);
      resolve(socket);
    });
    socket.once('error', reject);
  });
}

/** A TLS connection from `localAddress` whose handshake completed. */
export function tlsFrom(port: number, localAddress: string, options: ConnectionOptions): Promise<TLSSocket> {
  return new Promise((resolve, reject) => {
    const socket = tlsConnect({ socket: tcpConnect({ host: '127.0.0.1', port, localAddress }), servername: 'localhost', ...options });
    socket.once('secureConnect', () => {
      socket.off('error', reject);
      socket.on('error', () => undefined);
      resolve(socket);
    });
    socket.once('error', reject);
  });
}

/** mqtt.js from `localAddress`, over TCP or (with `tls`) TLS; resolves on CONNACK 0. */
export function mqttFrom(port: number, localAddress: string, options: IClientOptions & { tls?: ConnectionOptions }): Promise<MqttClient> {
  const { tls, ...mqttOptions } = options;
  const client = new MqttClient(
    () => {
      const socket = tcpConnect({ host: '127.0.0.1', port, localAddress });
      return tls ? tlsConnect({ socket, servername: 'localhost', ...tls }) : socket;
    },
    { protocolVersion: 4, reconnectPeriod: 0, connectTimeout: 10_000, ...mqttOptions },
  );
  return new Promise((resolve, reject) => {
    client.once('connect', () => resolve(client));
    client.once('error', (error) => {
      client.end(true);
      reject(error);
    });
    client.once('close', () => reject(new Error('closed before CONNACK')));
  });
}

/** Resolves when the socket has closed, with the bytes it had received. */
export function closedWith(socket: Socket): Promise<Buffer> {
  const chunks: Buffer[] = [];
  socket.on('data', (chunk: Buffer) => chunks.push(chunk));
  return new Promise((resolve) => (socket.destroyed ? resolve(Buffer.concat(chunks)) : socket.once('close', () => resolve(Buffer.concat(chunks)))));
}

export function connectBytes(clientId: string, username = 'nobody', password = 'nothing'): Buffer {
  return mqttPacket.generate({
    cmd: 'connect',
    protocolId: 'MQTT',
    protocolVersion: 4,
    clean: true,
    keepalive: 30,
    clientId,
    username,
    password: Buffer.from(password),
  });
}

/** The platform's JSON log lines with this message. */
export function logEntries(logText: string, message: string): Record<string, unknown>[] {
  return logText
    .split('\n')
    .filter((line) => line.includes(message))
    .map((line) => JSON.parse(line) as Record<string, unknown>)
    .filter((entry) => entry['msg'] === message);
}
