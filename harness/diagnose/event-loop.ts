/**
 * Rule: event loops. A Node server or nginx multiplexes every request in one thread, in epoll_wait on
 * its listeners and connections at once: the process never blocks on any one socket, so the process
 * rule (one wait per process) rightly never calls it a worker stuck on an upstream — and so said
 * nothing when every request it holds awaits a silent upstream.
 *
 * What tells "requests wait on the upstream" from "an idle pooled connection" is in sock_diag's
 * socket times (`ss -tinHe`, read by collect for the last sample): on an outbound connection we sent
 * data more recently than we received any (lastsnd < lastrcv, or equal on a connection that never
 * received a byte: the times tick in jiffies) — a request without its reply — and nothing is queued
 * unread; its age is lastsnd. An idle keep-alive connection received the reply
 * after the request (lastrcv <= lastsnd). On inbound connections (accepted from our listeners) a
 * client waits when we received from it more recently than we sent to it, or its data is unread.
 *
 * The process is stuck on upstream U when connections to U carry requests older than stuck-after
 * while at least one client waits; the chain names U, how many requests wait on it (connections
 * with a request outstanding) and how many clients wait. /proc/net/tcp alone (queues, timer) and the
 * scheduler cannot tell a request in flight from an idle pooled connection: without sock_diag the
 * rule names nothing and the evidence of a non-culprit chain says what was missing.
 */
import type { Classifier } from './classify';
import type { ChainKind } from './kinds';
import type { ChainReport, Collected, FdEntry, ProcessSample, Sample, ServiceRegistry } from './model';
import { fmtMs, who } from './prose';
import { endpointText, upstreamText } from './services';
import { awaitsReply, isEventLoopWait } from './worker';

interface Outstanding {
  fd: FdEntry;
  upstream: string;
  ageMs: number;
}

export function eventLoopChains(
  collected: Collected,
  classifier: Classifier,
  registry: ServiceRegistry | undefined,
  stuckAfterMs: number,
  exclude: ReadonlySet<number>,
): { chains: ChainReport[]; used: Set<number> } {
  const last = collected.samples[collected.samples.length - 1] as Sample;
  const chains: ChainReport[] = [];
  const used = new Set<number>();
  for (const p of last.processes.values()) {
    if (exclude.has(p.pid) || !isEventLoopWait(p.wait, p.fds)) continue;
    const established = (p.fds ?? []).filter((f) => f.tcp?.state === 'ESTABLISHED');
    const outbound = established.filter((f) => !classifier.isInbound(p, f.tcp!));
    const inbound = established.filter((f) => classifier.isInbound(p, f.tcp!));
    if (outbound.length === 0) continue;
    const withTimes = outbound.filter((f) => f.sock?.lastsndMs !== undefined && f.sock.lastrcvMs !== undefined);
    if (withTimes.length === 0) {
      used.add(p.pid);
      chains.push(noSocketTimes(p, outbound.length, inbound.length));
      continue;
    }
    const outstanding: Outstanding[] = withTimes
      .filter(awaitsReply)
      .map((f) => ({ fd: f, upstream: endpointText(f.tcp!.remote), ageMs: f.sock!.lastsndMs as number }));
    // A client waits when we received from it after our last send (equal: we never sent it a byte).
    const waitingClients = inbound.filter((f) => {
      const s = f.sock;
      if (f.tcp!.rxQueue > 0) return true;
      if (s?.lastrcvMs === undefined || s.lastsndMs === undefined) return false;
      return s.lastrcvMs < s.lastsndMs || (s.lastrcvMs === s.lastsndMs && s.bytesSent === 0 && (s.bytesReceived ?? 0) > 0);
    });
    const byUpstream = new Map<string, Outstanding[]>();
    for (const o of outstanding) byUpstream.set(o.upstream, [...(byUpstream.get(o.upstream) ?? []), o]);
    for (const list of byUpstream.values()) {
      list.sort((a, b) => b.ageMs - a.ageMs);
      const oldest = list[0] as Outstanding;
      const old = list.filter((o) => o.ageMs >= stuckAfterMs);
      const culprit = old.length > 0 && waitingClients.length > 0;
      const sock = oldest.fd.sock!;
      const tcp = oldest.fd.tcp!;
      // What the socket shows, as for a blocked worker: our bytes unacknowledged and retransmitted,
      // or all of ours acknowledged and nothing back.
      const unreachable = (sock.unacked ?? 0) > 0 && (tcp.timer === 1 || (sock.retrans ?? 0) > 0);
      const kind: ChainKind = unreachable ? 'unreachable-peer' : 'silent-peer';
      const name = upstreamText(registry, tcp.remote);
      used.add(p.pid);
      chains.push({
        root: p.pid,
        kind,
        culprit,
        waiters: [],
        requests: list.length,
        links: [],
        resource: classifier.fdResource(oldest.fd, oldest.fd.fd),
        syscall: p.syscallText ?? null,
        tid: p.tid,
        waitMs: oldest.ageMs,
        evidence: [
          `${who(p)} is an event loop (${p.syscallText ?? 'epoll'} on its listeners and connections at once): ${list.length} request${list.length === 1 ? '' : 's'} wait${list.length === 1 ? 's' : ''} on ${name}, ` +
            `${waitingClients.length} of ${inbound.length} client connection${inbound.length === 1 ? '' : 's'} wait${waitingClients.length === 1 ? 's' : ''} for an answer` +
            (culprit
              ? `; the oldest request was sent ${fmtMs(oldest.ageMs)} ago (>= --stuck-after ${fmtMs(stuckAfterMs)})`
              : old.length === 0
                ? `; the oldest request was sent ${fmtMs(oldest.ageMs)} ago (< --stuck-after ${fmtMs(stuckAfterMs)}): in flight, not yet a hang`
                : '; no client waits: nothing is held up'),
          `on each of ${list.map((o) => `fd ${o.fd.fd}`).join(', ')} (to ${name}) we sent after our last receive and nothing is queued unread: a request without its reply (sock_diag ${
            sock.unacked !== undefined ? `unacked ${sock.unacked}, ` : ''
          }last send ${fmtMs(sock.lastsndMs as number)} ago, last receive ${fmtMs(sock.lastrcvMs as number)} ago on fd ${oldest.fd.fd})`,
          unreachable
            ? `our bytes are not acknowledged (${sock.unacked} in flight, timer ${tcp.timer === 1 ? 'retransmit' : tcp.timer}): the upstream's host does not answer at the TCP level`
            : 'every byte of ours is acknowledged and nothing comes back: the upstream is silent (frozen, busy elsewhere, or its answer lost), and the requests have no timeout that fired',
          `judged from sock_diag's socket times (lastsnd/lastrcv), ${withTimes.length} of ${outbound.length} outbound connection${outbound.length === 1 ? '' : 's'} read`,
        ],
      });
    }
  }
  return { chains, used };
}

function noSocketTimes(p: ProcessSample, outbound: number, inbound: number): ChainReport {
  return {
    root: p.pid,
    kind: 'idle',
    culprit: false,
    waiters: [],
    links: [],
    resource: { type: 'unknown' },
    syscall: p.syscallText ?? null,
    tid: p.tid,
    evidence: [
      `${who(p)} is an event loop with ${outbound} outbound and ${inbound} inbound connection${inbound === 1 ? '' : 's'}, but sock_diag's socket times could not be read: ` +
        '/proc/net/tcp (queues, timer) cannot tell a request awaiting its reply from an idle pooled connection, so nothing is named (run as root, or with iproute2 installed)',
    ],
  };
}
