import { IPTABLES_COMMENT_PREFIX } from '../engine/cleanup';
import type { Netns } from '../topology/sidecars';
import type { StartedService, StartedTopology } from '../topology/topology';

/**
 * The iptables rules of the packet faults, built without touching a container: which namespace
 * receives each direction of a hop, the spec and comment of every rule a fault or a traffic count
 * inserts, and the argv that inserts, deletes and lists them. packet.ts says why a packet is
 * dropped where it arrives, and applies these rules through the toolbox sidecars.
 */

/**
 * Which hop of the path to the service a packet fault acts on: `web` (default), between the web
 * and the service's Toxiproxy listener (what the web's sockets see); `upstream`, between Toxiproxy
 * and the service (what the service's sockets see, and Toxiproxy's upstream side).
 */
export type Hop = 'web' | 'upstream';

/** One direction of one hop: where its packets arrive, and the match that selects them there. */
export interface Leg {
  receiver: Netns;
  match: string[];
  /** "the web -> storage-1 (Toxiproxy :10001)", for evidence. */
  label: string;
}

/** A rule as placed: the namespace, the chain, the spec after the chain (comment included). */
export interface PlacedRule {
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
export function legsOf(topo: StartedTopology, service: string, hop: Hop): { toService: Leg; fromService: Leg } {
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
export interface RuleSpec {
  leg: Leg;
  extra: string[];
  target: string[];
}

/**
 * Places the rules of fault `name` (its `seq`th application in run `runId`): each in its leg's
 * receiving namespace, in INPUT, with the comment `faultline:<run>:<fault>:<seq>.<n>`.
 */
export function placeRules(runId: string, name: string, seq: number, rules: RuleSpec[]): PlacedRule[] {
  return rules.map((r, i) => {
    const comment = `${IPTABLES_COMMENT_PREFIX}${runId}:${name}:${seq}.${i + 1}`;
    return {
      ns: r.leg.receiver,
      chain: 'INPUT',
      spec: [...r.leg.match, ...r.extra, '-m', 'comment', '--comment', comment, '-j', ...r.target],
      comment,
      label: `${r.leg.label}${r.extra.length ? ` ${r.extra.join(' ')}` : ''} -j ${r.target.join(' ')}`,
    };
  });
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

/** The rules of a partition of the hop whose two directions are `legs`, as `behavior` says. */
export function partitionRules(legs: { toService: Leg; fromService: Leg }, behavior: PartitionBehavior): RuleSpec[] {
  const { toService, fromService } = legs;
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
}

/** The suffix a fault's name gets for its hop: none for the web's, `,upstream` for the other. */
export function hopSuffix(hop: Hop): string {
  return hop === 'web' ? '' : ',upstream';
}

/** A rule that counts the traffic through a service's proxy in one direction (no target: it passes). */
export interface CountRule<Dir extends string> {
  dir: Dir;
  comment: string;
  spec: string[];
}

/**
 * The counting rules of the proxy of `service` (whose addresses `s` holds; its `seq`th count in
 * run `runId`), for Toxiproxy's namespace: `fromClients` matches what arrives at the listener,
 * `fromService` what the service sends back to Toxiproxy.
 */
export function proxyCountRules(runId: string, service: string, s: Pick<StartedService, 'proxy' | 'internal'>, seq: number): CountRule<'fromClients' | 'fromService'>[] {
  const rules = {
    fromClients: ['-p', 'tcp', '-d', s.proxy.listen.host, '--dport', String(s.proxy.listen.port)],
    fromService: ['-p', 'tcp', '-s', s.internal.host, '--sport', String(s.internal.port)],
  };
  return Object.entries(rules).map(([dir, match]) => {
    const comment = `${IPTABLES_COMMENT_PREFIX}${runId}:count(${service}):${seq}.${dir}`;
    return { dir: dir as 'fromClients' | 'fromService', comment, spec: [...match, '-m', 'comment', '--comment', comment] };
  });
}

/** `iptables -w -I <chain> <spec>`: the rule goes ahead of anything else in the chain. */
export function insertArgv(chain: string, spec: string[]): string[] {
  return ['iptables', '-w', '-I', chain, ...spec];
}

/** `iptables -w -D <chain> <spec>`: deletes the rule of that exact spec. */
export function deleteArgv(chain: string, spec: string[]): string[] {
  return ['iptables', '-w', '-D', chain, ...spec];
}

/** `iptables -w -t filter -S -v`: every rule with its packet and byte counters (engine/iptables' ruleCounters reads it). */
export function listArgv(): string[] {
  return ['iptables', '-w', '-t', 'filter', '-S', '-v'];
}
