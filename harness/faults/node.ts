import { activeFault, type Fault } from './fault';

/**
 * Node faults act on a backend container through the engine. The Toxiproxy upstream names the
 * backend by its network alias, so a restarted node is found again even with a new address.
 */
function containerOf(topo: Parameters<Fault['inject']>[0], service: string) {
  return topo.docker.getContainer(topo.service(service).container.getId());
}

/** Freezes every process of the node (cgroup freezer): sockets stay open, nothing reads or answers. */
export function pauseNode(service: string): Fault {
  return {
    name: `pause(${service})`,
    layer: 'node',
    description: `${service} frozen (docker pause): connections stay open, nothing is read or answered`,
    async inject(topo) {
      const c = containerOf(topo, service);
      await c.pause();
      return activeFault(topo, this, async () => {
        const state = await c.inspect();
        if (state.State.Paused) await c.unpause();
      });
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
      return activeFault(topo, this, async () => {
        const state = await c.inspect();
        if (!state.State.Running) await c.start();
      });
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
      await containerOf(topo, service).restart({ t: 1 });
      return activeFault(topo, this, async () => undefined);
    },
  };
}
