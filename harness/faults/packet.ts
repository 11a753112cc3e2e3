import { FaultlineError, UsageError } from '../errors';
import { IPTABLES_COMMENT_PREFIX } from '../engine/cleanup';
import type { Sidecar } from '../engine/sidecar';
import { webSidecar } from '../topology/sidecars';
import type { StartedTopology } from '../topology/topology';
import { activeFault, type Fault } from './fault';

/**
 * Packet faults run iptables in a toolbox sidecar that shares the network namespace of the web
 * container (`--network container:<web>`, NET_ADMIN only): nothing is installed into the web
 * itself. `tc netem` is not available on every kernel (not here), so loss uses `-m statistic`.
 * Every rule carries the comment `faultline:<run>:<fault>` so a sweep can always remove it.
 */

/** The NET_ADMIN sidecar in the web's network namespace (one per topology). */
export function netAdminSidecar(topo: StartedTopology): Promise<Sidecar> {
  return webSidecar(topo, 'net-admin');
}

let faultSeq = 0;

/** Applies iptables rules (each an argument list after `-A`/`-D`); heal deletes them again. */
function iptablesFault(
  name: string,
  description: string,
  rulesFor: (topo: StartedTopology) => string[][],
): Fault {
  return {
    name,
    layer: 'packet',
    description,
    async inject(topo) {
      const sidecar = await netAdminSidecar(topo);
      const comment = `${IPTABLES_COMMENT_PREFIX}${topo.runId}:${name}:${++faultSeq}`;
      const rules = rulesFor(topo).map((r) => [...r, '-m', 'comment', '--comment', comment]);
      const applied: string[][] = [];
      const undo = async () => {
        let first: unknown;
        for (const rule of applied.reverse()) {
          const [chain, ...spec] = rule;
          const r = await sidecar.exec(['iptables', '-w', '-D', chain, ...spec]);
          if (r.exitCode !== 0 && !/does a matching rule exist|No chain/i.test(r.stderr)) {
            first ??= new FaultlineError('FAULTLINE_FAULT_FAILED', `heal of ${name}: iptables -D ${rule.join(' ')}: ${r.stderr.trim()}`);
          }
        }
        if (first) throw first;
      };
      for (const rule of rules) {
        const [chain, ...spec] = rule;
        // -I: ahead of anything else in the chain, so the fault is not bypassed by an ACCEPT.
        const r = await sidecar.exec(['iptables', '-w', '-I', chain, ...spec]);
        if (r.exitCode !== 0) {
          await undo().catch(() => undefined);
          throw new FaultlineError('FAULTLINE_FAULT_FAILED', `${name}: iptables -I ${rule.join(' ')} failed: ${r.stderr.trim()}`);
        }
        applied.push(rule);
      }
      return activeFault(topo, this, undo);
    },
  };
}

/** The address the web uses to reach a service: its Toxiproxy listener. */
function routeTo(topo: StartedTopology, service: string): { ip: string; port: string } {
  const s = topo.service(service);
  return { ip: s.proxy.listen.host, port: String(s.proxy.listen.port) };
}

/**
 * The service's FIN never reaches the web: the web's reads stay blocked on an ESTABLISHED socket
 * whose peer has closed (a half-open connection). Data before the FIN still arrives.
 */
export function lostFin(service: string, opts: { alsoRst?: boolean } = {}): Fault {
  const flags = opts.alsoRst ? ['FIN', 'RST'] : ['FIN'];
  return iptablesFault(
    `lost-fin(${service})`,
    `packets with ${flags.join('/')} from ${service} to the web are dropped (iptables in the web's netns)`,
    (topo) => {
      const { ip, port } = routeTo(topo, service);
      return flags.map((f) => ['INPUT', '-p', 'tcp', '-s', ip, '--sport', port, '--tcp-flags', f, f, '-j', 'DROP']);
    },
  );
}

/** RSTs from the service to the web are dropped: a reset peer looks alive to the web. */
export function droppedRst(service: string): Fault {
  return iptablesFault(`dropped-rst(${service})`, `RST packets from ${service} to the web are dropped`, (topo) => {
    const { ip, port } = routeTo(topo, service);
    return [['INPUT', '-p', 'tcp', '-s', ip, '--sport', port, '--tcp-flags', 'RST', 'RST', '-j', 'DROP']];
  });
}

/** SYNs from the web to the service vanish: connect() hangs until the kernel gives up (~2 min). */
export function synBlackhole(service: string): Fault {
  return iptablesFault(`syn-blackhole(${service})`, `SYNs from the web to ${service} are dropped: connects hang`, (topo) => {
    const { ip, port } = routeTo(topo, service);
    return [['OUTPUT', '-p', 'tcp', '-d', ip, '--dport', port, '--syn', '-j', 'DROP']];
  });
}

/** Each packet between the web and the service is dropped with probability p (both directions). */
export function randomLoss(service: string, probability: number): Fault {
  if (!(probability > 0 && probability <= 1)) throw new UsageError(`randomLoss probability must be in (0, 1], got ${probability}`);
  return iptablesFault(
    `loss(${service},${probability})`,
    `${Math.round(probability * 100)}% of packets between the web and ${service} dropped`,
    (topo) => {
      const { ip, port } = routeTo(topo, service);
      const stat = ['-m', 'statistic', '--mode', 'random', '--probability', String(probability)];
      return [
        ['INPUT', '-p', 'tcp', '-s', ip, '--sport', port, ...stat, '-j', 'DROP'],
        ['OUTPUT', '-p', 'tcp', '-d', ip, '--dport', port, ...stat, '-j', 'DROP'],
      ];
    },
  );
}

/**
 * Every packet from the service to the web is dropped (its replies, and its FIN and RST with
 * them), while the web's own packets still go out: what the web sees when a database fails over
 * mid-query. A read in flight waits on an ESTABLISHED socket that will never get another byte;
 * a new connect waits for a SYN-ACK that never arrives.
 */
export function repliesLost(service: string): Fault {
  return iptablesFault(`replies-lost(${service})`, `every packet from ${service} to the web dropped (replies, FIN and RST): the web's reads and connects wait`, (topo) => {
    const { ip, port } = routeTo(topo, service);
    return [['INPUT', '-p', 'tcp', '-s', ip, '--sport', port, '-j', 'DROP']];
  });
}

/** The web and the service cannot exchange any packet, in either direction, until healed. */
export function partition(service: string): Fault {
  return iptablesFault(`partition(web,${service})`, `every packet between the web and ${service} dropped`, (topo) => {
    const { ip, port } = routeTo(topo, service);
    return [
      ['INPUT', '-p', 'tcp', '-s', ip, '--sport', port, '-j', 'DROP'],
      ['OUTPUT', '-p', 'tcp', '-d', ip, '--dport', port, '-j', 'DROP'],
    ];
  });
}
