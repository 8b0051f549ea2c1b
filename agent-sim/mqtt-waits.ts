import { connect, type IClientOptions, type MqttClient } from 'mqtt';

/**
 * Every wait on a broker ends: with the answer, when the connection is lost, after the agent's
 * `timeout`, or when the agent is stopped. mqtt.js alone does not promise it with reconnectPeriod 0:
 * an unacknowledged QoS 1 PUBLISH or SUBSCRIBE is kept for a reconnection that never comes, a
 * half-open socket never closes, and a plain end() waits for both.
 */

/** The agent was told to stop (SIGINT, SIGTERM): not a failure of the device or the platform. */
export class StoppedError extends Error {
  constructor() {
    super('stopped');
  }
}

const timeoutWaitingFor = (what: string, timeoutMs: number): Error => new Error(`timeout waiting for the ${what} (${timeoutMs} ms)`);

/** Ends the connection at once, without DISCONNECT: the broker died, hangs, or the agent stops. */
export function dropConnection(client: MqttClient): void {
  // end(true) fails what still waits for an acknowledgement; it does nothing once an end has begun.
  if (!client.disconnecting && !client.disconnected) client.end(true);
  client.stream?.destroy();
}

/**
 * Connects with reconnectPeriod 0 and resolves at CONNACK 0. Rejects with the refusal (its CONNACK
 * in error.code), when the connection closes first, after timeoutMs without CONNACK (a TLS
 * handshake or a broker that never answers), or with StoppedError; the connection is dropped then.
 */
export function connectWithin(url: string, options: IClientOptions, timeoutMs: number, signal?: AbortSignal): Promise<MqttClient> {
  if (signal?.aborted) return Promise.reject(new StoppedError());
  const client = connect(url, { ...options, reconnectPeriod: 0, connectTimeout: timeoutMs });
  // An error after CONNACK (a reset socket) also closes the connection, which every wait below
  // notices; left without a listener it would throw and end the whole process.
  client.on('error', () => undefined);
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => fail(timeoutWaitingFor('CONNACK', timeoutMs)), timeoutMs);
    const onConnect = (): void => {
      settle();
      resolve(client);
    };
    const onError = (error: Error): void => fail(error.message === 'connack timeout' ? timeoutWaitingFor('CONNACK', timeoutMs) : error);
    const onClose = (): void => fail(new Error('connection closed before the CONNACK'));
    const onAbort = (): void => fail(new StoppedError());
    function settle(): void {
      clearTimeout(timer);
      client.off('connect', onConnect);
      client.off('error', onError);
      client.off('close', onClose);
      signal?.removeEventListener('abort', onAbort);
    }
    function fail(error: Error): void {
      settle();
      dropConnection(client);
      reject(error);
    }
    client.on('connect', onConnect);
    client.on('error', onError);
    client.on('close', onClose);
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}

/**
 * The broker's answer to `operation` (a PUBACK, a SUBACK), or an error naming `what` when the
 * connection is lost or after timeoutMs. The connection stays up: the caller decides to drop it.
 */
export function answerWithin<T>(client: MqttClient, operation: Promise<T>, what: string, timeoutMs: number): Promise<T> {
  // Given up on, the operation may still fail later (mqtt.js fails it when the connection ends).
  operation.catch(() => undefined);
  return new Promise((resolve, reject) => {
    const onClose = (): void => {
      settle();
      reject(new Error(`connection lost waiting for the ${what}`));
    };
    const timer = setTimeout(() => {
      settle();
      reject(timeoutWaitingFor(what, timeoutMs));
    }, timeoutMs);
    function settle(): void {
      clearTimeout(timer);
      client.off('close', onClose);
    }
    if (!client.connected) return onClose();
    client.on('close', onClose);
    operation.then(
      (value) => {
        settle();
        resolve(value);
      },
      (error: unknown) => {
        settle();
        reject(error);
      },
    );
  });
}

/**
 * Says goodbye (DISCONNECT, then the broker closes its side) when that can work, within
 * timeoutMs, and drops the connection otherwise: mqtt.js's end() would wait for acknowledgements
 * a dead broker never sends, and for a half-open socket to close.
 */
export async function closeWithin(client: MqttClient, timeoutMs: number): Promise<void> {
  const polite = client.connected && !client.disconnecting && Object.keys(client.outgoing).length === 0;
  if (polite) {
    let timer: NodeJS.Timeout | undefined;
    const ended = await Promise.race([
      client.endAsync().then(
        () => true,
        () => true,
      ),
      new Promise<boolean>((resolve) => {
        timer = setTimeout(() => resolve(false), timeoutMs);
      }),
    ]);
    clearTimeout(timer);
    if (ended) return;
  }
  dropConnection(client);
}
