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

/** SIGKILL: the kernel closes the node's sockets (peers see FIN/RST); heal starts it again. */
export function killNode(service: string): Fault {
  return {
    name: `kill(${service})`,
    layer: 'node',
    description: `${service} killed (SIGKILL); restarted on heal`,
    async inject(topo) {
      const c = containerOf(topo, service);
      await c.kill({ signal: 'SIGKILL' });
      return activeFault(topo, this, async () => {
        const state = await c.inspect();
        if (!state.State.Running) await c.start();
      });
    },
  };
}

/** Graceful stop (SIGTERM, then SIGKILL after 1 s); heal starts it again. */
export function stopNode(service: string): Fault {
  return {
    name: `stop(${service})`,
    layer: 'node',
    description: `${service} stopped; started again on heal`,
    async inject(topo) {
      const c = containerOf(topo, service);
      await c.stop({ t: 1 });
      return activeFault(topo, this, async () => {
        const state = await c.inspect();
        if (!state.State.Running) await c.start();
      });
    },
  };
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
