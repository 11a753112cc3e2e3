/**
 * Socket times and TCP state from sock_diag, as `ss -tinHe` prints them (iproute2: in the toolbox
 * image and on the host). /proc/net/tcp says how many bytes are queued and which timer runs;
 * sock_diag adds how long ago we last sent, received and were acknowledged, the bytes in flight
 * (unacked), retransmits, the send window: what tells a silent peer from an unreachable one and
 * gives the wait its age. Per socket inode (`ino:`), so it joins the fds as /proc/net/tcp does.
 *
 * Output shape (iproute2 6.1, misc/ss.c), one socket per line pair with -H:
 *   ESTAB 0 89 10.0.0.2:41318 10.0.0.5:5432 timer:(on,1.200ms,4) uid:33 ino:207107 sk:1 cgroup:/ <->
 *   \t ts sack cubic … unacked:1 retrans:1/4 … lastsnd:8400 lastrcv:8420 lastack:8410 … snd_wnd:65536
 * Timers (tcp_timer names): on = retransmit, keepalive, timewait, persist = zero-window probe;
 * the third field is the retransmit or probe count. Expiry as print_ms_timer writes it:
 * `568ms`, `1.200ms` (1 s 200 ms), `12sec`, `1min2sec`.
 */

export interface SockInfo {
  inode: number;
  state: string;
  /** `timer:(name,expiry,count)`; absent when no timer runs. */
  timer?: { name: string; expiresMs?: number; count: number };
  unacked?: number;
  /** Retransmits of the segment now outstanding (icsk_retransmits). */
  retrans?: number;
  /** Retransmits over the connection's life. */
  retransTotal?: number;
  lastsndMs?: number;
  lastrcvMs?: number;
  lastackMs?: number;
  /** The window the peer last advertised (0: it does not read). */
  sndWnd?: number;
  backoff?: number;
  /** Payload bytes received over the connection's life (0: no reply ever came). */
  bytesReceived?: number;
  /** Payload bytes sent over the connection's life (0: we never answered). */
  bytesSent?: number;
}

export type SockDiagResult = { ok: true; byInode: Map<number, SockInfo>; via: string } | { ok: false; reason: string };

/** `print_ms_timer`'s text back to milliseconds. */
export function parseSsTimer(text: string): number | undefined {
  const m = /^(?:(\d+)min)?(?:(\d+)(sec|\.))?(?:(\d+)ms)?$/.exec(text.trim());
  if (!m || text.trim() === '') return undefined;
  return Number(m[1] ?? 0) * 60_000 + Number(m[2] ?? 0) * 1000 + Number(m[4] ?? 0);
}

/** One compiled pattern per key: a host may list thousands of sockets. */
const KEY_PATTERNS = new Map<string, RegExp>();
const num = (line: string, key: string): number | undefined => {
  let re = KEY_PATTERNS.get(key);
  if (!re) KEY_PATTERNS.set(key, (re = new RegExp(`(?:^|\\s)${key}:(\\d+)`)));
  const m = re.exec(line);
  return m ? Number(m[1]) : undefined;
};

/** Parses `ss -tinHe` output; sockets without an inode (TIME_WAIT: ino:0) are left out. */
export function parseSs(text: string): Map<number, SockInfo> {
  const out = new Map<number, SockInfo>();
  const lines = text.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const head = lines[i] as string;
    if (head === '' || /^\s/.test(head)) continue;
    const info = lines[i + 1] !== undefined && /^\s/.test(lines[i + 1] as string) ? (lines[++i] as string) : '';
    const inode = num(head, 'ino');
    if (!inode) continue;
    const sock: SockInfo = { inode, state: head.split(/\s+/)[0] ?? '?' };
    const t = /timer:\(([a-z_]+),([^,]*),(\d+)\)/.exec(head);
    if (t) sock.timer = { name: t[1] as string, expiresMs: parseSsTimer(t[2] as string), count: Number(t[3]) };
    const r = /(?:^|\s)retrans:(\d+)\/(\d+)/.exec(info);
    if (r) {
      sock.retrans = Number(r[1]);
      sock.retransTotal = Number(r[2]);
    }
    // ss prints unacked and retrans only when non-zero: with the info line there, absent is 0.
    if (info !== '' && !r) {
      sock.retrans = 0;
      sock.retransTotal = 0;
    }
    sock.unacked = num(info, 'unacked') ?? (info !== '' ? 0 : undefined);
    sock.lastsndMs = num(info, 'lastsnd');
    sock.lastrcvMs = num(info, 'lastrcv');
    sock.lastackMs = num(info, 'lastack');
    sock.sndWnd = num(info, 'snd_wnd');
    sock.backoff = num(info, 'backoff');
    // diag-rules (event-loop.ts): ss prints bytes_received only when non-zero.
    sock.bytesReceived = num(info, 'bytes_received') ?? (info !== '' ? 0 : undefined);
    sock.bytesSent = num(info, 'bytes_sent') ?? (info !== '' ? 0 : undefined);
    out.set(inode, sock);
  }
  return out;
}
