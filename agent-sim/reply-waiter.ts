import type { MqttClient } from 'mqtt';
import { decodeReply, type ReplyMessage } from '../protocol/messages.ts';

/** Says whether a reply is the one awaited; a refused one is ignored and the wait goes on. */
export type ReplyFilter = (reply: ReplyMessage) => boolean;

/**
 * Matches replies on REPLY/+ to the request.id the agent is waiting for; others are ignored, and
 * so is a reply the filter refuses (one that does not verify: PROTOCOL.md §6), so that a forged
 * answer arriving first does not hide the genuine one.
 */
export class ReplyWaiter {
  private readonly waiting = new Map<string, { accept: ReplyFilter; resolve: (reply: ReplyMessage | null) => void }>();

  /** `isReplyTopic`: which topics carry replies (default: all the client receives). */
  constructor(client: MqttClient, isReplyTopic: (topic: string) => boolean = () => true) {
    client.on('message', (topic, payload) => {
      if (!isReplyTopic(topic)) return;
      let reply: ReplyMessage;
      try {
        reply = decodeReply(payload);
      } catch {
        return; // not a reply we can read: ignore, as the protocol says
      }
      const waiter = this.waiting.get(reply.requestId);
      if (waiter && waiter.accept(reply)) {
        this.waiting.delete(reply.requestId);
        waiter.resolve(reply);
      }
    });
  }

  /**
   * Resolves with the reply, or null after timeoutMs (or on cancel). A reply the filter refuses does
   * not end the wait: only the timeout does.
   */
  wait(requestId: string, timeoutMs: number, accept: ReplyFilter = () => true): Promise<ReplyMessage | null> {
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        this.waiting.delete(requestId);
        resolve(null);
      }, timeoutMs);
      this.waiting.set(requestId, {
        accept,
        resolve: (reply) => {
          clearTimeout(timer);
          resolve(reply);
        },
      });
    });
  }

  /** Ends the wait for requestId now, with null: the request never reached the broker. */
  cancel(requestId: string): void {
    const waiter = this.waiting.get(requestId);
    this.waiting.delete(requestId);
    waiter?.resolve(null);
  }
}
