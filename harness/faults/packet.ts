import { FaultlineError, UsageError } from '../errors';
import { IPTABLES_COMMENT_PREFIX } from '../engine/cleanup';
import { ruleCounters } from '../engine/iptables';
import type { Sidecar } from '../engine/sidecar';
import { netnsName, netnsSidecar, type Netns } from '../topology/sidecars';
import type { StartedTopology } from '../topology/topology';
import { activeFault, oneLine, type Fault, type FaultEffect } from './fault';

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
 */

/** The NET_ADMIN sidecar in the web's network namespace (one per topology). */
export function netAdminSidecar(topo: StartedTopology): Promise<Sidecar> {
  return netnsSidecar(topo, { of: 'web' });
}

/**
 * Which hop of the path to the service a packet fault acts on: `web` (default), between the web
 * and the service's Toxiproxy listener (what the web's sockets see); `upstream`, between Toxiproxy
 * and the service (what the service's sockets see, and Toxiproxy's upstream side).
 */
export type Hop = 'web' | 'upstream';

export interface PacketFaultOptions {
  hop?: Hop;
}

/** One direction of one hop: where its packets arrive, and the match that selects them there. */
interface Leg {
  receiver: Netns;
  match: string[];
  /** "the web -> storage-1 (Toxiproxy :10001)", for evidence. */
  label: string;
}

/** A rule as placed: the namespace, the chain, the spec after the chain (comment included). */
interface PlacedRule {
  ns: Netns;
  chain: 'INPUT';
  spec: string[];
  comment: string;
  label: string;
}

/**
 * The two directions of `hop` toward `service`. Every match names both ends' addresses or ports,
 * so no other traffic of the namespace is touched.
 */
function legsOf(topo: StartedTopology, service: string, hop: Hop): { toService: Leg; fromService: Leg } {
  const s = topo.service(service);
  const proxyIp = s.proxy.listen.host;
  const listen = String(s.proxy.listen.port);
  if (hop === 'web') {
    return {
      toService: {
        receiver: { of: 'toxiproxy' },
        match: ['-p', 'tcp', '-s', topo.web.ip, '-d', proxyIp, '--dport', listen],
        label: `the web -> ${service} (Toxiproxy :${listen})`,
      },
      fromService: {
        receiver: { of: 'web' },
        match: ['-p', 'tcp', '-s', proxyIp, '--sport', listen],
        label: `${service} (Toxiproxy :${listen}) -> the web`,
      },
    };
  }
  const svcIp = s.internal.host;
  const port = String(s.internal.port);
  return {
    toService: {
      receiver: { of: 'service', name: service },
      match: ['-p', 'tcp', '-s', proxyIp, '-d', svcIp, '--dport', port],
      label: `Toxiproxy -> ${service} :${port}`,
    },
    fromService: {
      receiver: { of: 'toxiproxy' },
      match: ['-p', 'tcp', '-s', svcIp, '--sport', port],
      label: `${service} :${port} -> Toxiproxy`,
    },
  };
}

/** A rule for the packets of `leg` that match `extra` too, with the action `target`. */
interface RuleSpec {
  leg: Leg;
  extra: string[];
  target: string[];
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
      const placed: PlacedRule[] = rulesFor(topo).map((r, i) => {
        const comment = `${IPTABLES_COMMENT_PREFIX}${topo.runId}:${name}:${seq}.${i + 1}`;
        return {
          ns: r.leg.receiver,
          chain: 'INPUT',
          spec: [...r.leg.match, ...r.extra, '-m', 'comment', '--comment', comment, '-j', ...r.target],
          comment,
          label: `${r.leg.label}${r.extra.length ? ` ${r.extra.join(' ')}` : ''} -j ${r.target.join(' ')}`,
        };
      });
      // Every namespace's sidecar first: none is started once a rule is in place.
      const sidecars = new Map<PlacedRule, Sidecar>();
      for (const rule of placed) sidecars.set(rule, await netnsSidecar(topo, rule.ns));
      const applied: PlacedRule[] = [];
      const undo = async () => {
        let first: unknown;
        for (const rule of [...applied].reverse()) {
          const r = await sidecars.get(rule)!.exec(['iptables', '-w', '-D', rule.chain, ...rule.spec]);
          if (r.exitCode !== 0 && !/does a matching rule exist|No chain/i.test(r.stderr)) {
            first ??= new FaultlineError('FAULTLINE_FAULT_FAILED', `heal of ${name}: iptables -D ${rule.chain} ${rule.spec.join(' ')}: ${r.stderr.trim()}`);
          }
        }
        applied.length = 0;
        if (first) throw first;
      };
      for (const rule of placed) {
        // -I: ahead of anything else in the chain, so the fault is not bypassed by an ACCEPT.
        const r = await sidecars.get(rule)!.exec(['iptables', '-w', '-I', rule.chain, ...rule.spec]);
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
      l = s.exec(['iptables', '-w', '-t', 'filter', '-S', '-v']).then((r) => {
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

/**
 * How a partition treats the packets it stops (in Chaos Mesh's and iptables' words):
 * - `drop` (default): every packet, both ways, vanishes. Connects hang (SYN retransmitted until
 *   tcp_syn_retries gives up, ~130 s); a connection with data in flight retransmits until
 *   tcp_retries2 (~15 min); a connection where nobody sends notices nothing. Only a timeout (connect,
 *   read, write, or keepalive) ends the wait.
 * - `reject`: every packet, both ways, is answered with a TCP reset (`-j REJECT --reject-with
 *   tcp-reset`, from the receiving end): a new connect is refused at once (ECONNREFUSED), and an
 *   established connection fails at its next packet (ECONNRESET). No timeout is needed to notice;
 *   a connection where nobody sends still notices nothing.
 * - `drop-new`: only new connections' SYNs are dropped; established connections keep working
 *   (a firewall whose conntrack keeps what it already allowed). New connects hang as with `drop`.
 */
export type PartitionBehavior = 'drop' | 'reject' | 'drop-new';
export const PARTITION_BEHAVIORS: readonly PartitionBehavior[] = ['drop', 'reject', 'drop-new'];

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
  return iptablesFault(name, description, (topo) => {
    const { toService, fromService } = legsOf(topo, service, hop);
    if (behavior === 'drop-new') return [{ leg: toService, extra: ['--syn'], target: ['DROP'] }];
    if (behavior === 'reject') {
      // The resets pass: each REJECT answers toward the sender with a RST that then arrives at the
      // other rule's namespace; rejected there in turn, it would be lost, and a connect would hang
      // (measured) instead of being refused.
      const target = ['REJECT', '--reject-with', 'tcp-reset'];
      const notRst = ['!', '--tcp-flags', 'RST', 'RST'];
      return [
        { leg: fromService, extra: notRst, target },
        { leg: toService, extra: notRst, target },
      ];
    }
    return [
      { leg: fromService, extra: [], target: ['DROP'] },
      { leg: toService, extra: [], target: ['DROP'] },
    ];
  });
}

function hopSuffix(hop: Hop): string {
  return hop === 'web' ? '' : ',upstream';
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
  const seq = ++faultSeq;
  const rules = {
    fromClients: ['-p', 'tcp', '-d', s.proxy.listen.host, '--dport', String(s.proxy.listen.port)],
    fromService: ['-p', 'tcp', '-s', s.internal.host, '--sport', String(s.internal.port)],
  };
  const specs = Object.entries(rules).map(([dir, match]) => {
    const comment = `${IPTABLES_COMMENT_PREFIX}${topo.runId}:count(${service}):${seq}.${dir}`;
    return { dir: dir as keyof ProxyTraffic, comment, spec: [...match, '-m', 'comment', '--comment', comment] };
  });
  const inserted: typeof specs = [];
  const remove = async () => {
    for (const r of inserted.splice(0)) {
      const res = await sidecar.exec(['iptables', '-w', '-D', 'INPUT', ...r.spec]);
      if (res.exitCode !== 0 && !/does a matching rule exist/i.test(res.stderr)) {
        throw new FaultlineError('FAULTLINE_FAULT_FAILED', `iptables -D INPUT ${r.spec.join(' ')}: ${oneLine(res.stderr)}`);
      }
    }
  };
  for (const r of specs) {
    const res = await sidecar.exec(['iptables', '-w', '-I', 'INPUT', ...r.spec]);
    if (res.exitCode !== 0) {
      await remove().catch(() => undefined);
      throw new FaultlineError('FAULTLINE_FAULT_FAILED', `counting traffic of proxy ${service}: iptables -I INPUT failed: ${oneLine(res.stderr)}`);
    }
    inserted.push(r);
  }
  topo.onStop(remove);
  return {
    async read() {
      const r = await sidecar.exec(['iptables', '-w', '-t', 'filter', '-S', '-v']);
      if (r.exitCode !== 0) throw new Error(`iptables -S -v exited ${r.exitCode}: ${oneLine(r.stderr)}`);
      const counters = ruleCounters(r.stdout);
      const of = (dir: keyof ProxyTraffic) => counters.get(specs.find((x) => x.dir === dir)!.comment) ?? { packets: 0, bytes: 0 };
      return { fromClients: of('fromClients'), fromService: of('fromService') };
    },
    remove,
  };
}
