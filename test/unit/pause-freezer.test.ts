import { pauseFrozen } from '../../harness/faults/node';

/** The engine's answer when runc's cgroup v1 freezer spin gave up (copied from dockerd's log). */
const GAVE_UP = '(HTTP code 500) server error - Cannot pause container a4b3c31a004c: OCI runtime pause failed: unable to freeze: unknown';

function engine(answers: Array<Error | 'ok'>) {
  const calls: number[] = [];
  return {
    calls,
    async pause() {
      calls.push(calls.length + 1);
      const a = answers.shift() ?? 'ok';
      if (a !== 'ok') throw a;
    },
  };
}

describe('pauseFrozen: docker pause on a cgroup v1 freezer', () => {
  const fakeClock = () => {
    let t = 0;
    return { now: () => t, sleep: async (ms: number) => { t += ms; } };
  };

  it('pauses at once when the freezer freezes', async () => {
    const c = engine(['ok']);
    await expect(pauseFrozen(c, fakeClock())).resolves.toBe(1);
    expect(c.calls).toHaveLength(1);
  });

  it('asks again when runc reports it could not freeze (it thawed first)', async () => {
    const c = engine([new Error(GAVE_UP), new Error(GAVE_UP), 'ok']);
    await expect(pauseFrozen(c, fakeClock())).resolves.toBe(3);
  });

  it('throws any other engine error at once', async () => {
    const c = engine([new Error('(HTTP code 409) unexpected - Container abc is not running')]);
    await expect(pauseFrozen(c, fakeClock())).rejects.toThrow(/is not running/);
    expect(c.calls).toHaveLength(1);
  });

  it('gives up at the deadline and says what the freezer did', async () => {
    const c = engine(Array.from({ length: 1000 }, () => new Error(GAVE_UP)));
    const clock = fakeClock();
    await expect(pauseFrozen(c, { ...clock, deadlineMs: 1000, backoffMs: 100 })).rejects.toThrow(
      /could not freeze the container in 11 attempts over 1000 ms .*unable to freeze/,
    );
  });
});
