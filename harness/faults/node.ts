import { monotonicMs, sleep as realSleep } from '../util/time';
import { activeFault, type Fault, type FaultEffect } from './fault';

/**
 * Node faults act on a backend container through the engine. The Toxiproxy upstream names the
 * backend by its network alias, so a restarted node is found again even with a new address.
 */
function containerOf(topo: Parameters<Fault['inject']>[0], service: string) {
  return topo.docker.getContainer(topo.service(service).container.getId());
}

/** What runc says when the cgroup v1 freezer stayed in FREEZING through its spin (it thaws first). */
const FREEZER_GAVE_UP = /unable to freeze/;

/**
 * `docker pause`, done the way the cgroup v1 freezer asks to be driven. On cgroup v1 a freeze can
 * stay in FREEZING while a task of the cgroup is not yet frozen (one in uninterruptible sleep, or
 * one being created); the kernel's freezer documentation says userspace should then retry or
 * thaw. runc spins a bounded number of times, thaws, and fails with "unable to freeze" (runc's
 * libcontainer/cgroups/fs/freezer.go calls it "a game of chances"; cgroup v2 has no such state).
 * The soak met it once in about 85 pauses on this 2-core machine while another run's
 * containers were starting. Only that answer is tried again, until `deadlineMs`; any other error
 * (no such container, not running) is thrown at once. Returns how many attempts it took.
 */
export async function pauseFrozen(
  c: { pause(): Promise<unknown> },
  opts: { deadlineMs?: number; backoffMs?: number; sleep?: (ms: number) => Promise<void>; now?: () => number } = {},
): Promise<number> {
  const now = opts.now ?? monotonicMs;
  const deadlineMs = opts.deadlineMs ?? 10_000;
  const backoffMs = opts.backoffMs ?? 50;
  const sleep = opts.sleep ?? realSleep;
  const started = now();
  for (let attempt = 1; ; attempt++) {
    try {
      await c.pause();
      return attempt;
    } catch (e) {
      const message = e instanceof Error ? e.message : String(e);
      if (!FREEZER_GAVE_UP.test(message)) throw e;
      if (now() - started + backoffMs > deadlineMs) {
        throw new Error(
          `pause: the engine's cgroup freezer could not freeze the container in ${attempt} attempts over ` +
            `${Math.round(now() - started)} ms (${message.trim()}); some task in it never reached the frozen state`,
        );
      }
      await sleep(backoffMs);
    }
  }
}

/** Freezes every process of the node (cgroup freezer): sockets stay open, nothing reads or answers. */
export function pauseNode(service: string): Fault {
  return {
    name: `pause(${service})`,
    layer: 'node',
    description: `${service} frozen (docker pause): connections stay open, nothing is read or answered`,
    async inject(topo) {
      const c = containerOf(topo, service);
      const attempts = await pauseFrozen(c);
      return activeFault(
        topo,
        this,
        async () => {
          const state = await c.inspect();
          if (state.State.Paused) await c.unpause();
        },
        // Still frozen at the heal: nothing thawed it (runc thaws after a failed freeze, a user may unpause).
        async () => {
          const { State } = await c.inspect();
          return {
            confirmed: State.Paused === true,
            evidence: [`${service}: State.Status ${State.Status}, Paused ${State.Paused} at the heal (frozen in ${attempts} attempt${attempts === 1 ? '' : 's'})`],
          };
        },
      );
    },
  };
}

/** A fault that takes the node down one way and starts it again on heal. */
function downUntilHeal(
  service: string,
  name: string,
  description: string,
  takeDown: (c: ReturnType<typeof containerOf>) => Promise<unknown>,
): Fault {
  return {
    name: `${name}(${service})`,
    layer: 'node',
    description,
    async inject(topo) {
      const c = containerOf(topo, service);
      await takeDown(c);
      return activeFault(
        topo,
        this,
        async () => {
          const state = await c.inspect();
          if (!state.State.Running) await c.start();
        },
        async () => {
          const { State } = await c.inspect();
          return {
            confirmed: State.Running === false,
            evidence: [`${service}: State.Status ${State.Status}, Running ${State.Running}, ExitCode ${State.ExitCode} at the heal`],
          };
        },
      );
    },
  };
}

/** SIGKILL: the kernel closes the node's sockets (peers see FIN/RST); heal starts it again. */
export function killNode(service: string): Fault {
  return downUntilHeal(service, 'kill', `${service} killed (SIGKILL); restarted on heal`, (c) => c.kill({ signal: 'SIGKILL' }));
}

/** Graceful stop (SIGTERM, then SIGKILL after 1 s); heal starts it again. */
export function stopNode(service: string): Fault {
  return downUntilHeal(service, 'stop', `${service} stopped; started again on heal`, (c) => c.stop({ t: 1 }));
}

/** Restart: a short outage, all connections to the node reset. Nothing to heal afterwards. */
export function restartNode(service: string): Fault {
  return {
    name: `restart(${service})`,
    layer: 'node',
    description: `${service} restarted`,
    async inject(topo) {
      const c = containerOf(topo, service);
      const before = (await c.inspect()).State.StartedAt;
      await c.restart({ t: 1 });
      const { State } = await c.inspect();
      // A restart is over once it returns: its effect is read here, a new start time and running.
      const effect: FaultEffect = {
        confirmed: State.StartedAt !== before && State.Running === true,
        evidence: [`${service}: started at ${before}, then at ${State.StartedAt} (Running ${State.Running})`],
      };
      return activeFault(topo, this, async () => undefined, async () => effect);
    },
  };
}
