import { runPool } from '../../harness/scenario/library';
import { Teardown } from '../../harness/topology/teardown';

describe('runPool', () => {
  test('a released slot starts the next job while the first is still finishing; results stay in job order', async () => {
    const events: string[] = [];
    let finishFirst!: () => void;
    const firstMayFinish = new Promise<void>((r) => (finishFirst = r));
    const results = await runPool([0, 1, 2], 1, new AbortController().signal, async (job, _i, release) => {
      events.push(`start ${job}`);
      if (job === 0) {
        release(); // its body is over; its teardown goes on
        await firstMayFinish;
      }
      if (job === 2) finishFirst();
      events.push(`end ${job}`);
      return job * 10;
    });
    expect(results).toEqual([0, 10, 20]);
    expect(events).toEqual(['start 0', 'start 1', 'end 1', 'start 2', 'end 2', 'end 0']);
  });

  test('without a release, one slot runs one job at a time', async () => {
    const events: string[] = [];
    await runPool([0, 1], 1, new AbortController().signal, async (job) => {
      events.push(`start ${job}`);
      await Promise.resolve();
      events.push(`end ${job}`);
    });
    expect(events).toEqual(['start 0', 'end 0', 'start 1', 'end 1']);
  });
});

describe('Teardown', () => {
  test('consecutive steps of one group run at once, after the later steps and before the earlier ones', async () => {
    const t = new Teardown();
    const events: string[] = [];
    const step = (name: string) => async () => {
      events.push(`start ${name}`);
      await Promise.resolve();
      events.push(`end ${name}`);
    };
    t.push(step('network'));
    t.push(step('a'), 'containers');
    t.push(step('b'), 'containers');
    t.push(step('sidecar'));
    await t.run();
    expect(events).toEqual(['start sidecar', 'end sidecar', 'start b', 'start a', 'end b', 'end a', 'start network', 'end network']);
  });

  test('a failing step of a group does not stop the others; the first error is rethrown at the end', async () => {
    const t = new Teardown();
    const ran: string[] = [];
    t.push(async () => ran.push('network'));
    t.push(async () => {
      throw new Error('a failed');
    }, 'containers');
    t.push(async () => ran.push('b'), 'containers');
    await expect(t.run()).rejects.toThrow('a failed');
    expect(ran).toEqual(['b', 'network']);
  });
});
