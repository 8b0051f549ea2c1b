/**
 * How the provisioner meets devices' messages: in-process on the same aedes instance (the
 * all-in-one platform), or as an MQTT client with internal credentials (separate processes).
 */
/**
 * What the provisioner must know of where a message came from: whether the device's connection
 * is encrypted (the platform sends a generated private key only over TLS, PROTOCOL.md §5).
 * `secure` is undefined when the transport cannot tell; that counts as not encrypted.
 */
export interface MessageOrigin {
  readonly secure?: boolean;
}

export type MessageHandler = (topic: string, payload: Buffer, origin: MessageOrigin) => void | Promise<void>;

export interface ProvisioningTransport {
  /** Subscribes to the filters; handler gets every message on them. */
  start(filters: readonly string[], handler: MessageHandler): Promise<void>;
  /** QoS 1, not retained. */
  publish(topic: string, payload: Buffer): Promise<void>;
  close(): Promise<void>;
}
