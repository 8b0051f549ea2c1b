import type { MQEmitter } from 'mqemitter';

type Message = { topic: string } & Record<string, unknown>;
type Listener = (message: Message, done: () => void) => void;

/**
 * Puts one broker role's topics under a prefix of a shared emitter, so the provision brokers and
 * the account brokers of a cluster share one Redis without hearing each other (Redis pub/sub
 * channels ignore key prefixes and databases). Listeners see the topics without the prefix.
 */
export function prefixedEmitter(inner: MQEmitter, prefix: string): MQEmitter {
  const wrapped = new WeakMap<Listener, Listener>();
  const unwrap = (message: Message): Message => ({ ...message, topic: message.topic.slice(prefix.length) });
  const facade = {
    get current() {
      return inner.current;
    },
    get concurrent() {
      return inner.concurrent;
    },
    on(topic: string, listener: Listener, callback?: () => void) {
      let deliver = wrapped.get(listener);
      if (!deliver) {
        deliver = (message, done) => listener(unwrap(message), done);
        wrapped.set(listener, deliver);
      }
      inner.on(prefix + topic, deliver as never, callback);
      return facade;
    },
    removeListener(topic: string, listener: Listener, callback?: () => void) {
      const deliver = wrapped.get(listener);
      if (!deliver) {
        callback?.();
        return facade;
      }
      inner.removeListener(prefix + topic, deliver as never, callback);
      return facade;
    },
    emit(message: Message, callback?: (error?: Error) => void) {
      inner.emit({ ...message, topic: prefix + message.topic }, callback as never);
      return facade;
    },
    close(callback: () => void) {
      inner.close(callback);
      return facade;
    },
  };
  return facade as unknown as MQEmitter;
}
