import { FaultlineError } from '../errors';

/**
 * One stack of undo steps shared by the topology's start, the faults injected into it and the
 * runner: steps run in reverse order of registration, a failing step does not stop the others,
 * and the first error is rethrown at the end. Running it twice is safe (the second call gets the
 * first's outcome).
 */
export class Teardown {
  private readonly steps: Array<() => Promise<unknown>> = [];
  private running?: Promise<void>;

  get stopping(): boolean {
    return this.running !== undefined;
  }

  /**
   * Registers an undo step. A step registered once stopping has begun (a start step that
   * finished late) runs once the stack has unwound.
   */
  push(step: () => Promise<unknown>): void {
    if (this.running) {
      void this.running.catch(() => undefined).finally(() => step().catch(() => undefined));
      return;
    }
    this.steps.push(step);
  }

  /** Throws once stopping has begun: a start step must not create anything then. */
  assertOpen(what = 'topology'): void {
    if (this.running) throw new FaultlineError('FAULTLINE_TOPOLOGY_START_FAILED', `${what} is stopping`);
  }

  /** Unwinds every step; `last` runs after them (the label sweep that catches what they missed). */
  run(last?: () => Promise<unknown>): Promise<void> {
    this.running ??= (async () => {
      let first: unknown;
      while (this.steps.length > 0) {
        const step = this.steps.pop()!;
        try {
          await step();
        } catch (e) {
          if ((e as { statusCode?: number }).statusCode === 404) continue; // already gone
          first ??= e;
        }
      }
      if (last) {
        try {
          await last();
        } catch (e) {
          first ??= e;
        }
      }
      if (first) throw first;
    })();
    return this.running;
  }
}
