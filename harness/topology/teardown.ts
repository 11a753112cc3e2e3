import { FaultlineError } from '../errors';

/**
 * One stack of undo steps shared by the topology's start, the faults injected into it and the
 * runner: steps run in reverse order of registration, a failing step does not stop the others,
 * and the first error is rethrown at the end. Running it twice is safe (the second call gets the
 * first's outcome).
 */
export class Teardown {
  private readonly steps: Array<{ step: () => Promise<unknown>; group?: string }> = [];
  private running?: Promise<void>;

  get stopping(): boolean {
    return this.running !== undefined;
  }

  /**
   * Registers an undo step. A step registered once stopping has begun (a start step that
   * finished late) runs once the stack has unwound. Consecutive steps of the same `group` run
   * concurrently.
   */
  push(step: () => Promise<unknown>, group?: string): void {
    if (this.running) {
      void this.running.catch(() => undefined).finally(() => step().catch(() => undefined));
      return;
    }
    this.steps.push({ step, group });
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
        // Steps of one group registered one after another (the topology's containers) have no
        // order among themselves: they run at once, and the stack goes on when all have settled.
        const top = this.steps.pop()!;
        const batch = [top];
        while (top.group !== undefined && this.steps.at(-1)?.group === top.group) batch.push(this.steps.pop()!);
        const outcomes = await Promise.allSettled(batch.map((s) => s.step()));
        for (const o of outcomes) {
          if (o.status === 'fulfilled' || (o.reason as { statusCode?: number }).statusCode === 404) continue; // 404: already gone
          first ??= o.reason;
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
