import type { MqttClient } from 'mqtt';
import { decodeReply, type ReplyMessage } from '../protocol/messages.ts';

/** Matches replies on REPLY/+ to the request.id the agent is waiting for; others are ignored. */
export class ReplyWaiter {
  private readonly waiting = new Map<string, (reply: ReplyMessage) => void>();

  constructor(client: MqttClient) {
    client.on('message', (_topic, payload) => {
      let reply: ReplyMessage;
      try {
        reply = decodeReply(payload);
      } catch {
        return; // not a reply we can read: ignore, as the protocol says
      }
      const resolve = this.waiting.get(reply.requestId);
      if (resolve) {
        this.waiting.delete(reply.requestId);
        resolve(reply);
      }
    });
  }

  /** Resolves with the reply, or null after timeoutMs. */
  wait(requestId: string, timeoutMs: number): Promise<ReplyMessage | null> {
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        this.waiting.delete(requestId);
        resolve(null);
      }, timeoutMs);
      this.waiting.set(requestId, (reply) => {
        clearTimeout(timer);
        resolve(reply);
      });
    });
  }
}
