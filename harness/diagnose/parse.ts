/**
 * Parsers for the /proc text the diagnoser reads. Each returns undefined (or skips a line) on text it
 * does not understand instead of throwing: a process may exit mid-read and leave a truncated file,
 * and a comm may contain spaces, parentheses or newlines. A numeric field that is malformed or out
 * of range is `undefined`, never NaN or Infinity (a NaN rx_queue once reached a diagnosis).
 */

/** A decimal integer field (optionally signed), or undefined: never NaN, Infinity or a rounded value. */
export function decimalField(text: string | undefined): number | undefined {
  if (text === undefined || !/^-?[0-9]{1,20}$/.test(text)) return undefined;
  const n = Number(text);
  return Number.isSafeInteger(n) ? n : undefined;
}

/** A hexadecimal integer field (net/tcp, fdinfo events), or undefined. */
export function hexField(text: string | undefined): number | undefined {
  if (text === undefined || !/^[0-9a-fA-F]{1,16}$/.test(text)) return undefined;
  const n = parseInt(text, 16);
  return Number.isSafeInteger(n) ? n : undefined;
}

export interface StatInfo {
  pid: number;
  comm: string;
  state: string;
  ppid?: number;
  utimeTicks?: number;
  stimeTicks?: number;
  threads?: number;
  startTimeTicks?: number;
  /** The CPU it last ran on (field 39). */
  processor?: number;
}

/** /proc/PID/stat: `pid (comm) S ppid …`; comm may hold anything, so split at the LAST ')'. */
export function parseStat(text: string): StatInfo | undefined {
  const open = text.indexOf('(');
  const close = text.lastIndexOf(')');
  if (open < 0 || close < open) return undefined;
  const pid = decimalField(text.slice(0, open).trim());
  const rest = text
    .slice(close + 1)
    .trim()
    .split(/\s+/);
  // rest[0] is field 3 (state); field N is rest[N - 3].
  const field = (n: number): number | undefined => decimalField(rest[n - 3]);
  const state = rest[0] ?? '';
  if (pid === undefined || !/^[A-Za-z]$/.test(state)) return undefined;
  return {
    pid,
    comm: text.slice(open + 1, close),
    state,
    ppid: field(4),
    utimeTicks: field(14),
    stimeTicks: field(15),
    threads: field(20),
    startTimeTicks: field(22),
    processor: field(39),
  };
}

export interface StatusInfo {
  name?: string;
  uid?: number;
  voluntaryCtxt?: number;
  nonvoluntaryCtxt?: number;
  nspid?: number[];
}

export function parseStatus(text: string): StatusInfo {
  const out: StatusInfo = {};
  for (const line of text.split('\n')) {
    const colon = line.indexOf(':');
    if (colon < 0) continue;
    const key = line.slice(0, colon);
    const value = line.slice(colon + 1).trim();
    const firstNumber = (): number | undefined => decimalField(value.split(/\s+/)[0]);
    switch (key) {
      case 'Name':
        out.name = value;
        break;
      case 'Uid':
        out.uid = firstNumber();
        break;
      case 'voluntary_ctxt_switches':
        out.voluntaryCtxt = firstNumber();
        break;
      case 'nonvoluntary_ctxt_switches':
        out.nonvoluntaryCtxt = firstNumber();
        break;
      case 'NSpid':
        // Any malformed entry makes the whole list unknown: its last entry is the innermost PID,
        // so dropping one would shift which namespace a PID belongs to.
        {
          const ids = value.split(/\s+/).map(decimalField);
          out.nspid = value !== '' && ids.every((n) => n !== undefined && n > 0) ? (ids as number[]) : undefined;
        }
        break;
      default:
        break;
    }
  }
  return out;
}

/**
 * /proc/PID/syscall: `nr arg1..arg6 sp pc` while blocked in a syscall, `-1 sp pc` when blocked
 * outside one, `running` while on a CPU.
 */
export type SyscallLine =
  | { kind: 'running' }
  | { kind: 'not-in-syscall' }
  | { kind: 'syscall'; nr: number; args: bigint[] };

export function parseSyscallLine(text: string): SyscallLine | undefined {
  const words = text.trim().split(/\s+/);
  if (words[0] === 'running') return { kind: 'running' };
  const nr = decimalField(words[0]);
  if (nr === undefined) return undefined;
  if (nr < 0) return { kind: 'not-in-syscall' };
  const args: bigint[] = [];
  for (const w of words.slice(1, 7)) {
    // BigInt() accepts "", whitespace and 1e6-digit strings: take only what the kernel prints.
    if (!/^(0x[0-9a-fA-F]{1,16}|[0-9]{1,20})$/.test(w)) return undefined;
    args.push(BigInt(w));
  }
  // A truncated line still gives the nr; missing args read as 0 are worse than knowing we lack them.
  return { kind: 'syscall', nr, args };
}

/** Signed 32-bit view of a register value (fds, poll timeouts). */
export function asInt32(v: bigint | undefined): number | undefined {
  if (v === undefined) return undefined;
  return Number(BigInt.asIntN(32, v));
}

export interface IoInfo {
  rchar?: number;
  wchar?: number;
}

export function parseIo(text: string): IoInfo {
  const out: IoInfo = {};
  for (const line of text.split('\n')) {
    const m = /^(rchar|wchar):[ \t]*([0-9]+)[ \t]*$/.exec(line);
    const v = m ? decimalField(m[2]) : undefined;
    if (m && v !== undefined) out[m[1] as 'rchar' | 'wchar'] = v;
  }
  return out;
}

/** `se.exec_start : 303807.117152` (ms of the scheduler clock when the task last ran). */
export function parseSchedExecStart(text: string): number | undefined {
  const m = /^se\.exec_start[ \t]*:[ \t]*([0-9]{1,15}(?:\.[0-9]{1,9})?)[ \t]*$/m.exec(text);
  return m ? Number(m[1]) : undefined;
}

export function parseUptimeSeconds(text: string): number | undefined {
  const m = /^([0-9]{1,15}(?:\.[0-9]{1,9})?)(?:\s|$)/.exec(text.trim());
  return m ? Number(m[1]) : undefined;
}

// ---------------------------------------------------------------------------------------------
// /proc/locks

export interface LockLine {
  /** Ordinal shared by a granted lock and its waiters. */
  ordinal: number;
  /** A `->` line: this pid waits for the lock, it does not hold it. */
  waiting: boolean;
  /** FLOCK, POSIX, OFDLCK, LEASE, DELEG … */
  type: string;
  mode: string; // ADVISORY / MANDATORY / ACTIVE / BREAKING …
  access: string; // READ / WRITE / UNLCK …
  /** -1 for OFD locks (owned by an open file, not a process); 0 if not visible in our PID namespace. */
  pid: number;
  device: string; // maj:min (hex, as printed)
  inode: number;
  start: string;
  end: string;
  /** Key of the file: `maj:min:inode`. */
  fileKey: string;
}

export function parseLockLine(line: string): LockLine | undefined {
  const m =
    /^\s*(?:lock:\s*)?([0-9]+):\s*(->\s*)?(\S+)\s+(\S+)\s+(\S+)\s+(-?[0-9]+)\s+([0-9a-fA-F]+:[0-9a-fA-F]+):([0-9]+)\s+(\S+)\s+(\S+)/.exec(
      line,
    );
  if (!m) return undefined;
  const device = (m[7] as string).toLowerCase();
  const inode = decimalField(m[8]);
  const ordinal = decimalField(m[1]);
  const pid = decimalField(m[6]);
  if (inode === undefined || ordinal === undefined || pid === undefined) return undefined;
  return {
    ordinal,
    waiting: Boolean(m[2]),
    type: m[3] as string,
    mode: m[4] as string,
    access: m[5] as string,
    pid,
    device,
    inode,
    start: m[9] as string,
    end: m[10] as string,
    fileKey: `${device}:${inode}`,
  };
}

export interface LockEntry extends LockLine {
  /** Waiters queued behind this granted lock (all depths of the kernel's blocked tree). */
  waiters: LockLine[];
}

/**
 * A granted lock line is followed by its waiters as `N: -> …` with the same ordinal; since 5.0 a
 * waiter may itself be blocked behind another waiter (printed deeper indented), but every one of
 * them waits, ultimately, for the granted lock's owner.
 */
export function parseLocks(text: string): LockEntry[] {
  const entries: LockEntry[] = [];
  let current: LockEntry | undefined;
  for (const raw of text.split('\n')) {
    const line = parseLockLine(raw);
    if (!line) continue;
    if (!line.waiting) {
      current = { ...line, waiters: [] };
      entries.push(current);
    } else if (current && current.ordinal === line.ordinal) {
      current.waiters.push(line);
    }
  }
  return entries;
}

// ---------------------------------------------------------------------------------------------
// /proc/PID/fdinfo/N

export interface FdinfoInfo {
  pos?: number;
  flags?: number;
  ino?: number;
  /** Locks this open file holds (granted), as printed in /proc/locks. */
  locks: LockLine[];
  /** For an epoll fd: the watched fds and their event masks. */
  epollTargets: Array<{ fd: number; events: number }>;
}

export function parseFdinfo(text: string): FdinfoInfo {
  const out: FdinfoInfo = { locks: [], epollTargets: [] };
  for (const line of text.split('\n')) {
    if (line.startsWith('lock:')) {
      const lock = parseLockLine(line.slice(5));
      if (lock) out.locks.push(lock);
      continue;
    }
    const tfd = /^tfd:[ \t]*([0-9]+)[ \t]+events:[ \t]*([0-9a-fA-F]+)/.exec(line);
    if (tfd) {
      const fd = decimalField(tfd[1]);
      const events = hexField(tfd[2]);
      if (fd !== undefined && fd <= 0x7fffffff && events !== undefined) out.epollTargets.push({ fd, events });
      continue;
    }
    const kv = /^(pos|flags|ino):[ \t]*([0-9]+)[ \t]*$/.exec(line);
    if (kv) {
      const key = kv[1] as 'pos' | 'flags' | 'ino';
      const digits = kv[2] as string;
      const v = key === 'flags' ? (/^[0-7]{1,17}$/.test(digits) ? parseInt(digits, 8) : undefined) : decimalField(digits);
      if (v !== undefined) out[key] = v;
    }
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// /proc/PID/net/tcp and tcp6

export const TCP_STATES: Record<number, string> = {
  1: 'ESTABLISHED',
  2: 'SYN_SENT',
  3: 'SYN_RECV',
  4: 'FIN_WAIT1',
  5: 'FIN_WAIT2',
  6: 'TIME_WAIT',
  7: 'CLOSE',
  8: 'CLOSE_WAIT',
  9: 'LAST_ACK',
  10: 'LISTEN',
  11: 'CLOSING',
  12: 'NEW_SYN_RECV',
};

/** tm->when timer codes: 0 none, 1 retransmit (or probe), 2 keepalive, 3 TIME_WAIT, 4 zero-window probe. */
export const TCP_TIMERS: Record<number, string> = {
  0: 'none',
  1: 'retransmit',
  2: 'keepalive',
  3: 'time-wait',
  4: 'zero-window-probe',
};

export interface Endpoint {
  ip: string;
  port: number;
}

export interface TcpSocket {
  family: 4 | 6;
  local: Endpoint;
  remote: Endpoint;
  state: string;
  txQueue: number;
  rxQueue: number;
  timer: number;
  timerJiffies: number;
  retransmits: number;
  uid: number;
  inode: number;
}

function hexToIpv4(word: string): string {
  // One 32-bit word in host (little-endian) order.
  const n = parseInt(word, 16) >>> 0;
  return [n & 0xff, (n >>> 8) & 0xff, (n >>> 16) & 0xff, (n >>> 24) & 0xff].join('.');
}

function hexToIpv6(hex: string): string {
  // Four 32-bit words, each in host (little-endian) order.
  const bytes: number[] = [];
  for (let w = 0; w < 4; w++) {
    const word = hex.slice(w * 8, w * 8 + 8);
    for (let b = 3; b >= 0; b--) bytes.push(parseInt(word.slice(b * 2, b * 2 + 2), 16));
  }
  if (bytes.slice(0, 10).every((b) => b === 0) && bytes[10] === 0xff && bytes[11] === 0xff) {
    return `::ffff:${bytes.slice(12).join('.')}`;
  }
  const groups: string[] = [];
  for (let i = 0; i < 16; i += 2) groups.push((((bytes[i] as number) << 8) | (bytes[i + 1] as number)).toString(16));
  // Compress the longest run of zero groups (RFC 5952).
  let bestStart = -1;
  let bestLen = 0;
  for (let i = 0; i < 8; ) {
    if (groups[i] !== '0') {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && groups[j] === '0') j++;
    if (j - i > bestLen && j - i > 1) {
      bestStart = i;
      bestLen = j - i;
    }
    i = j;
  }
  if (bestStart < 0) return groups.join(':');
  return `${groups.slice(0, bestStart).join(':')}::${groups.slice(bestStart + bestLen).join(':')}`;
}

function parseEndpoint(text: string, family: 4 | 6): Endpoint | undefined {
  const [addr, port] = text.split(':');
  if (!addr || !port || !/^[0-9a-fA-F]+$/.test(addr) || !/^[0-9a-fA-F]{1,4}$/.test(port)) return undefined;
  if (family === 4 && addr.length !== 8) return undefined;
  if (family === 6 && addr.length !== 32) return undefined;
  return { ip: family === 4 ? hexToIpv4(addr) : hexToIpv6(addr), port: parseInt(port, 16) };
}

export function parseNetTcp(text: string, family: 4 | 6): TcpSocket[] {
  const out: TcpSocket[] = [];
  for (const line of text.split('\n')) {
    const w = line.trim().split(/\s+/);
    // sl local rem st tx:rx tr:when retrnsmt uid timeout inode …
    if (w.length < 10 || !/^[0-9]+:$/.test(w[0] as string)) continue;
    const local = parseEndpoint(w[1] as string, family);
    const remote = parseEndpoint(w[2] as string, family);
    const [tx, rx] = (w[4] as string).split(':');
    const [tr, when] = (w[5] as string).split(':');
    const inode = decimalField(w[9]);
    const state = hexField(w[3]);
    const txQueue = hexField(tx);
    const rxQueue = hexField(rx);
    const uid = decimalField(w[7]);
    // A line whose queues, state, uid or inode do not parse is skipped whole: a socket with an
    // unknown queue cannot be told stuck from moving, and a guess would reach the diagnosis.
    if (!local || !remote || state === undefined || txQueue === undefined || rxQueue === undefined) continue;
    if (uid === undefined || inode === undefined) continue;
    out.push({
      family,
      local,
      remote,
      state: TCP_STATES[state] ?? `0x${w[3]}`,
      txQueue,
      rxQueue,
      timer: hexField(tr) ?? 0,
      timerJiffies: hexField(when) ?? 0,
      retransmits: hexField(w[6]) ?? 0,
      uid,
      inode,
    });
  }
  return out;
}

/** `socket:[12345]` → 12345. */
export function socketInode(target: string): number | undefined {
  const m = /^socket:\[([0-9]+)\]$/.exec(target);
  return m ? decimalField(m[1]) : undefined;
}

/** struct pollfd { int fd; short events; short revents; } (little-endian on x86_64 and aarch64). */
export function parsePollfds(bytes: Buffer): Array<{ fd: number; events: number }> {
  const out: Array<{ fd: number; events: number }> = [];
  for (let off = 0; off + 8 <= bytes.length; off += 8) {
    out.push({ fd: bytes.readInt32LE(off), events: bytes.readInt16LE(off + 4) & 0xffff });
  }
  return out;
}

/** fd_set bitmap (array of 64-bit longs, little-endian): the fds whose bit is set, below nfds. */
export function parseFdSet(bytes: Buffer, nfds: number): number[] {
  const out: number[] = [];
  for (let fd = 0; fd < nfds && fd < bytes.length * 8; fd++) {
    if (((bytes[fd >> 3] as number) >> (fd & 7)) & 1) out.push(fd);
  }
  return out;
}

/** Command line from /proc/PID/cmdline (NUL-separated, maybe NUL-terminated). */
export function parseCmdline(text: string): string {
  // A container dump re-adds a newline after the last line; the kernel's text has none.
  return text.replace(/[\0\n]+$/, '').split('\0').join(' ');
}

// ---------------------------------------------------------------------------------------------
// UNIX-domain sockets (unix-sockets.ts)

export interface UnixSocket {
  inode: number;
  type: 'stream' | 'dgram' | 'seqpacket' | 'other';
  state: 'UNCONNECTED' | 'CONNECTING' | 'CONNECTED' | 'DISCONNECTING' | 'UNKNOWN';
  /** __SO_ACCEPTCON in Flags: a listening socket. */
  listening: boolean;
  /**
   * The bound name: the listener's path, which its accepted sockets share; a client's socket has
   * none (unless bound). `@name` for an abstract name.
   */
  path?: string;
  /** From sock_diag (`ss -x`): the peer's inode, and this end's queues. */
  peer?: number;
  /** Bytes waiting in this end's receive queue (ss Recv-Q). */
  rxQueue?: number;
  /** Memory of what this end sent that the peer has not read yet (ss Send-Q: sk_wmem_alloc). */
  txQueue?: number;
  /** The peer's bound name (its entry in /proc/net/unix): the path a client is connected to. */
  peerPath?: string;
}

const UNIX_TYPES: Record<number, UnixSocket['type']> = { 1: 'stream', 2: 'dgram', 5: 'seqpacket' };
const UNIX_STATES: Record<number, UnixSocket['state']> = { 1: 'UNCONNECTED', 2: 'CONNECTING', 3: 'CONNECTED', 4: 'DISCONNECTING' };
/** __SO_ACCEPTCON (net/unix/af_unix.c prints it in Flags for a listening socket). */
const SO_ACCEPTCON = 0x10000;

/**
 * /proc/net/unix: `Num: RefCount Protocol Flags Type St Inode Path` (hex except Inode; Path
 * absent for unnamed sockets, `@…` for abstract ones). It names no peer: see parseSsUnix.
 */
export function parseNetUnix(text: string): UnixSocket[] {
  const out: UnixSocket[] = [];
  for (const line of text.split('\n')) {
    const m = /^\s*[0-9a-fA-F]+:\s+([0-9a-fA-F]{1,8})\s+([0-9a-fA-F]{1,8})\s+([0-9a-fA-F]{1,8})\s+([0-9a-fA-F]{1,4})\s+([0-9a-fA-F]{1,2})\s+([0-9]{1,20})(?: (.*))?$/.exec(line);
    if (!m) continue;
    const flags = hexField(m[3]);
    const type = hexField(m[4]);
    const st = hexField(m[5]);
    const inode = decimalField(m[6]);
    if (flags === undefined || type === undefined || st === undefined || inode === undefined) continue;
    const sock: UnixSocket = {
      inode,
      type: UNIX_TYPES[type] ?? 'other',
      state: UNIX_STATES[st] ?? 'UNKNOWN',
      listening: (flags & SO_ACCEPTCON) !== 0,
    };
    if (m[7] !== undefined && m[7] !== '') sock.path = m[7];
    out.push(sock);
  }
  return out;
}

/**
 * `ss -xHn` (iproute2; the kernel's unix_diag: UNIX_DIAG_PEER and UNIX_DIAG_RQLEN):
 * `u_str ESTAB 0 768 * 826770 * 826771` — netid, state, Recv-Q, Send-Q, local name (or `*`) and
 * inode, peer name (or `*`) and peer inode. Names may hold spaces: the inodes anchor the split.
 */
export function parseSsUnix(text: string): Map<number, { peer: number; rxQueue: number; txQueue: number }> {
  const out = new Map<number, { peer: number; rxQueue: number; txQueue: number }>();
  for (const line of text.split('\n')) {
    const m = /^\s*(u_str|u_seq|u_dgr)\s+\S+\s+([0-9]{1,20})\s+([0-9]{1,20})\s+(.*?)\s+([0-9]{1,20})\s+(.*?)\s+([0-9]{1,20})\s*$/.exec(line);
    if (!m) continue;
    const [rx, tx, inode, peer] = [m[2], m[3], m[5], m[7]].map(decimalField);
    if (rx === undefined || tx === undefined || inode === undefined || peer === undefined || inode === 0) continue;
    out.set(inode, { peer, rxQueue: rx, txQueue: tx });
  }
  return out;
}
