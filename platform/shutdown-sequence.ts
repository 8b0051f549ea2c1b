import type { Logger } from '../log/logger.ts';

/**
 * What a process must stop, in reverse order of starting: each step is added once its part is
 * up, so a failed start-up stops exactly what had started. A failing step is logged, not fatal.
 */
export class ShutdownSequence {
  readonly #steps: (() => Promise<void>)[] = [];

  constructor(private readonly log: Logger) {}

  add(step: () => Promise<void>): void {
    this.#steps.push(step);
  }

  readonly run = async (): Promise<void> => {
    for (const step of this.#steps.reverse().splice(0)) {
      try {
        await step();
      } catch (error) {
        this.log.warn({ err: error }, 'error while stopping');
      }
    }
  };
}
