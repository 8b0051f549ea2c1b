/**
 * How the provisioner meets devices' messages: in-process on the same aedes instance (the
 * all-in-one platform), or as an MQTT client with internal credentials (separate processes).
 */
export type MessageHandler = (topic: string, payload: Buffer) => void | Promise<void>;

export interface ProvisioningTransport {
  /** Subscribes to the filters; handler gets every message on them. */
  start(filters: readonly string[], handler: MessageHandler): Promise<void>;
  /** QoS 1, not retained. */
  publish(topic: string, payload: Buffer): Promise<void>;
  close(): Promise<void>;
}
