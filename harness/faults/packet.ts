import { FaultlineError, UsageError } from '../errors';
import { ruleCounters } from '../engine/iptables';
import type { Sidecar } from '../engine/sidecar';
import { netnsName, netnsSidecar } from '../topology/sidecars';
import type { StartedTopology } from '../topology/topology';
import { activeFault, oneLine, type Fault, type FaultEffect } from './fault';
import {
  deleteArgv,
  hopSuffix,
  insertArgv,
  legsOf,
  listArgv,
  partitionRules,
  placeRules,
  proxyCountRules,
  PARTITION_BEHAVIORS,
  type Hop,
  type PartitionBehavior,
  type PlacedRule,
  type RuleSpec,
} from './packet-rules';

export { PARTITION_BEHAVIORS, type Hop, type PartitionBehavior } from './packet-rules';

/**
 * Packet faults run iptables in toolbox sidecars that share a network namespace of the topology
 * (`--network container:<target>`, NET_ADMIN only): nothing is installed into the containers
 * themselves. `tc netem` is not available on every kernel (not here), so loss uses `-m statistic`.
 *
 * A packet is dropped where the network would lose it: on arrival, in the INPUT chain of the
 * namespace that receives it. Dropping in the sender's OUTPUT chain is not network loss: the
 * sender's kernel gets a local error from the netfilter hook and, for data, arms the zero-window
 * probe timer instead of retransmitting (measured: tx_queue 89, timer 4, 0 retransmits, where the
 * same packets lost on arrival give timer 1 and 4 retransmits in 4 s; test/integration/
 * fault-signatures.test.ts). So packets the web sends to a service are dropped in Toxiproxy's
 * namespace (the web reaches every service through it), packets to the web in the web's. On the
 * upstream hop (`hop: 'upstream'`), packets from Toxiproxy to the service are dropped in the
 * service's namespace, and packets from the service in Toxiproxy's.
 *
 * Every rule carries the comment `faultline:<run>:<fault>:<n>` so a sweep can always remove it,
 * and so its packet counters can be read back before the heal (the fault's proof of effect).
 * The rules themselves (legs, specs, comments, argv) are built in packet-rules.ts; this module
 * starts the sidecars, applies and removes the rules, and reads their counters.
 */

/** The NET_ADMIN sidecar in the web's network namespace (one per topology). */
export function netAdminSidecar(topo: StartedTopology): Promise<Sidecar> {
  return netnsSidecar(topo, { of: 'web' });
}

export interface PacketFaultOptions {
  hop?: Hop;
}

let faultSeq = 0;

/**
 * Inserts rules (each in its leg's receiving namespace); heal deletes them again, after reading
 * their packet counters: the fault took hold only if its rules matched a packet.
 */
function iptablesFault(name: string, description: string, rulesFor: (topo: StartedTopology) => RuleSpec[]): Fault {
  return {
    name,
    layer: 'packet',
    description,
    async inject(topo) {
      const seq = ++faultSeq;
      const placed = placeRules(topo.runId, name, seq, rulesFor(topo));
      // Every namespace's sidecar first: none is started once a rule is in place.
      const sidecars = new Map<PlacedRule, Sidecar>();
      for (const rule of placed) sidecars.set(rule, await netnsSidecar(topo, rule.ns));
      const applied: PlacedRule[] = [];
      const undo = async () => {
        let first: unknown;
        for (const rule of [...applied].reverse()) {
          const r = await sidecars.get(rule)!.exec(deleteArgv(rule.chain, rule.spec));
          if (r.exitCode !== 0 && !/does a matching rule exist|No chain/i.test(r.stderr)) {
            first ??= new FaultlineError('FAULTLINE_FAULT_FAILED', `heal of ${name}: iptables -D ${rule.chain} ${rule.spec.join(' ')}: ${r.stderr.trim()}`);
          }
        }
        applied.length = 0;
        if (first) throw first;
      };
      for (const rule of placed) {
        // -I: ahead of anything else in the chain, so the fault is not bypassed by an ACCEPT.
        const r = await sidecars.get(rule)!.exec(insertArgv(rule.chain, rule.spec));
        if (r.exitCode !== 0) {
          await undo().catch(() => undefined);
          throw new FaultlineError('FAULTLINE_FAULT_FAILED', `${name}: iptables -I ${rule.chain} ${rule.spec.join(' ')} failed: ${r.stderr.trim()}`);
        }
        applied.push(rule);
      }
      return activeFault(topo, this, undo, () => measureRules(placed, sidecars));
    },
  };
}

/** Reads each rule's packet and byte counters in its namespace (one `iptables -S -v` per sidecar). */
async function measureRules(placed: PlacedRule[], sidecars: Map<PlacedRule, Sidecar>): Promise<FaultEffect> {
  const listings = new Map<Sidecar, Promise<string>>();
  const listing = (s: Sidecar) => {
    let l = listings.get(s);
    if (!l) {
      l = s.exec(listArgv()).then((r) => {
        if (r.exitCode !== 0) throw new Error(`iptables -S -v exited ${r.exitCode}: ${oneLine(r.stderr)}`);
        return r.stdout;
      });
      listings.set(s, l);
    }
    return l;
  };
  const evidence: string[] = [];
  let packets = 0;
  let missing = 0;
  for (const rule of placed) {
    const counters = ruleCounters(await listing(sidecars.get(rule)!)).get(rule.comment);
    if (!counters) {
      missing++;
      evidence.push(`${rule.label} (${netnsName(rule.ns)}): rule no longer in place`);
      continue;
    }
    packets += counters.packets;
    evidence.push(`${rule.label} (${netnsName(rule.ns)}): ${counters.packets} packets, ${counters.bytes} bytes`);
  }
  if (packets === 0) evidence.push(missing ? 'no rule of the fault matched a packet, and some were removed by someone else' : 'no rule of the fault matched a packet while it was in place');
  return { confirmed: packets > 0 && missing === 0, evidence };
}

/**
 * The service's FIN never reaches the web: the web's reads stay blocked on an ESTABLISHED socket
 * whose peer has closed (a half-open connection). Data before the FIN still arrives.
 */
export function lostFin(service: string, opts: { alsoRst?: boolean } & PacketFaultOptions = {}): Fault {
  const flags = opts.alsoRst ? ['FIN', 'RST'] : ['FIN'];
  const hop = opts.hop ?? 'web';
  return iptablesFault(
    `lost-fin(${service}${hopSuffix(hop)})`,
    `packets with ${flags.join('/')} from ${service} to ${hop === 'web' ? 'the web' : 'Toxiproxy'} are dropped on arrival (iptables in ${hop === 'web' ? "the web's" : "Toxiproxy's"} netns)`,
    (topo) => {
      const leg = legsOf(topo, service, hop).fromService;
      return flags.map((f) => ({ leg, extra: ['--tcp-flags', f, f], target: ['DROP'] }));
    },
  );
}

/** RSTs from the service to the web are dropped: a reset peer looks alive to the web. */
export function droppedRst(service: string, opts: PacketFaultOptions = {}): Fault {
  const hop = opts.hop ?? 'web';
  return iptablesFault(`dropped-rst(${service}${hopSuffix(hop)})`, `RST packets from ${service} to ${hop === 'web' ? 'the web' : 'Toxiproxy'} are dropped on arrival`, (topo) => [
    { leg: legsOf(topo, service, hop).fromService, extra: ['--tcp-flags', 'RST', 'RST'], target: ['DROP'] },
  ]);
}

/**
 * SYNs from the web to the service vanish (dropped on arrival at Toxiproxy): connect() hangs until
 * the kernel gives up (tcp_syn_retries = 6: ~130 s), the SYN retransmitted meanwhile.
 */
export function synBlackhole(service: string, opts: PacketFaultOptions = {}): Fault {
  const hop = opts.hop ?? 'web';
  return iptablesFault(`syn-blackhole(${service}${hopSuffix(hop)})`, `SYNs from ${hop === 'web' ? 'the web' : 'Toxiproxy'} to ${service} are dropped on arrival: connects hang`, (topo) => [
    { leg: legsOf(topo, service, hop).toService, extra: ['--syn'], target: ['DROP'] },
  ]);
}

/** Each packet between the web and the service is dropped with probability p (both directions, on arrival). */
export function randomLoss(service: string, probability: number, opts: PacketFaultOptions = {}): Fault {
  if (!(probability > 0 && probability <= 1)) throw new UsageError(`randomLoss probability must be in (0, 1], got ${probability}`);
  const hop = opts.hop ?? 'web';
  return iptablesFault(
    `loss(${service},${probability}${hopSuffix(hop)})`,
    `${Math.round(probability * 100)}% of packets between ${hop === 'web' ? 'the web' : 'Toxiproxy'} and ${service} dropped on arrival`,
    (topo) => {
      const { toService, fromService } = legsOf(topo, service, hop);
      const stat = ['-m', 'statistic', '--mode', 'random', '--probability', String(probability)];
      return [
        { leg: fromService, extra: stat, target: ['DROP'] },
        { leg: toService, extra: stat, target: ['DROP'] },
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
export function repliesLost(service: string, opts: PacketFaultOptions = {}): Fault {
  const hop = opts.hop ?? 'web';
  return iptablesFault(
    `replies-lost(${service}${hopSuffix(hop)})`,
    `every packet from ${service} to ${hop === 'web' ? 'the web' : 'Toxiproxy'} dropped on arrival (replies, FIN and RST): reads and connects wait`,
    (topo) => [{ leg: legsOf(topo, service, hop).fromService, extra: [], target: ['DROP'] }],
  );
}

export interface PartitionOptions extends PacketFaultOptions {
  behavior?: PartitionBehavior;
}

/** The web and the service cannot exchange packets (as `behavior` says), until healed. */
export function partition(service: string, opts: PartitionOptions = {}): Fault {
  const behavior = opts.behavior ?? 'drop';
  if (!PARTITION_BEHAVIORS.includes(behavior)) {
    throw new UsageError(`partition(${service}): behavior must be one of ${PARTITION_BEHAVIORS.join(', ')}, got ${JSON.stringify(behavior)}`);
  }
  const hop = opts.hop ?? 'web';
  const near = hop === 'web' ? 'web' : 'toxiproxy';
  const name = `partition(${near},${service}${behavior === 'drop' ? '' : `,${behavior}`})`;
  const between = `${hop === 'web' ? 'the web' : 'Toxiproxy'} and ${service}`;
  const description = {
    drop: `every packet between ${between} dropped on arrival`,
    reject: `every packet between ${between} answered with a TCP reset (REJECT tcp-reset, on arrival): connects refused, connections reset at their next packet`,
    'drop-new': `new connections' SYNs from ${hop === 'web' ? 'the web' : 'Toxiproxy'} to ${service} dropped on arrival; established connections spared`,
  }[behavior];
  return iptablesFault(name, description, (topo) => partitionRules(legsOf(topo, service, hop), behavior));
}

/** Packets and bytes through a service's proxy while a proxy fault is in place, by direction. */
export interface ProxyTraffic {
  /** Into the listener, from its clients (the web): what `upstream` toxics act on. */
  fromClients: { packets: number; bytes: number };
  /** From the service into Toxiproxy: what `downstream` toxics act on. */
  fromService: { packets: number; bytes: number };
}

/**
 * Counts the traffic through `service`'s proxy (iptables rules with no target, in Toxiproxy's
 * namespace: they count and pass). Toxiproxy's own byte metrics are added only when a
 * connection ends (link.go, v2.12), so a connection a toxic holds open would count nothing.
 */
export async function countProxyTraffic(topo: StartedTopology, service: string): Promise<{ read(): Promise<ProxyTraffic>; remove(): Promise<void> }> {
  const sidecar = await netnsSidecar(topo, { of: 'toxiproxy' });
  const s = topo.service(service);
  const specs = proxyCountRules(topo.runId, service, s, ++faultSeq);
  const inserted: typeof specs = [];
  const remove = async () => {
    for (const r of inserted.splice(0)) {
      const res = await sidecar.exec(deleteArgv('INPUT', r.spec));
      if (res.exitCode !== 0 && !/does a matching rule exist/i.test(res.stderr)) {
        throw new FaultlineError('FAULTLINE_FAULT_FAILED', `iptables -D INPUT ${r.spec.join(' ')}: ${oneLine(res.stderr)}`);
      }
    }
  };
  for (const r of specs) {
    const res = await sidecar.exec(insertArgv('INPUT', r.spec));
    if (res.exitCode !== 0) {
      await remove().catch(() => undefined);
      throw new FaultlineError('FAULTLINE_FAULT_FAILED', `counting traffic of proxy ${service}: iptables -I INPUT failed: ${oneLine(res.stderr)}`);
    }
    inserted.push(r);
  }
  topo.onStop(remove);
  return {
    async read() {
      const r = await sidecar.exec(listArgv());
      if (r.exitCode !== 0) throw new Error(`iptables -S -v exited ${r.exitCode}: ${oneLine(r.stderr)}`);
      const counters = ruleCounters(r.stdout);
      const of = (dir: keyof ProxyTraffic) => counters.get(specs.find((x) => x.dir === dir)!.comment) ?? { packets: 0, bytes: 0 };
      return { fromClients: of('fromClients'), fromService: of('fromService') };
    },
    remove,
  };
}
