/**
 * A ProcReader that runs inside a container (normally a toolbox sidecar sharing the target's PID
 * and network namespaces, with SYS_PTRACE: the `kubectl debug` pattern). One `exec` per sample
 * runs a POSIX-sh script (the toolbox has no node or python: sh + grep/find/awk/dd/od only) that
 * prints every file the analysis needs, delimited, and the snapshot serves reads from that dump.
 * One exec per file would cost ~100 ms each: far over the 500 ms budget of a container diagnosis.
 * Multi-threaded processes (stat field 20 > 1) also get their threads' task/TID/stat, syscall,
 * wchan, status and sched in the same run; single-threaded ones (most pools) cost nothing more.
 */
import {
  monotonicMs,
  type FdLink,
  type FdListResult,
  type MemResult,
  type ProcReader,
  type ProcSnapshot,
  type ReadResult,
  type TidListResult,
} from './procfs';
import { DECODED_ARCHES, normalizeArch, syscallNumbers, type Arch } from './syscalls';
import { parseStat } from './parse';
import { parseSs, type SockDiagResult } from './sockdiag';

export interface ExecResult {
  exitCode: number;
  stdout: string;
  stderr: string;
}

/** Anything that can run argv in the container: a faultline Sidecar, or a docker CLI wrapper. */
export interface Execer {
  exec(argv: string[], opts?: { timeoutMs?: number }): Promise<ExecResult>;
}

export interface ContainerReaderOptions {
  /** For messages, e.g. the target container's name. */
  name?: string;
  /**
   * The exec runs in a sidecar (its own mount namespace): processes in the script's mount
   * namespace are the sidecar's, not the target's, and are left out. False when the exec runs in
   * the target container itself (then only the script and its children are left out).
   */
  sidecar?: boolean;
  timeoutMs?: number;
}

/** `x86_64:7|x86_64:271|aarch64:73`: the awk alternation of a class's (or named syscalls') numbers per decoded arch. */
const caseOf = (cls: Parameters<typeof syscallNumbers>[1], names?: readonly string[]): string =>
  DECODED_ARCHES.flatMap((arch) => syscallNumbers(arch, cls, names).map((nr) => `${arch}:${nr}`)).join('|') || 'none';

/** The collector script. Everything goes to stdout in @@-delimited sections; errors are kept per file. */
export function collectorScript(): string {
  const pollCase = caseOf('poll');
  const selectCase = caseOf('select');
  // Waits whose timeout is behind a pointer (see waits.ts): ppoll arg 2, select/pselect6 arg 4,
  // epoll_pwait2 arg 3 (awk's w[1] is the number, w[2] arg 0).
  const ppollCase = caseOf('poll', ['ppoll']);
  const epollPwait2Case = caseOf('epoll', ['epoll_pwait2']);
  return `
export LC_ALL=C
cd /proc || exit 97
E=/tmp/.faultline-diag-err.$$; T=/tmp/.faultline-diag-grep.$$; L=/tmp/.faultline-diag-links.$$; U=/tmp/.faultline-diag-task.$$
: >"$E"; : >"$U"
A=$(uname -m)
echo "@@arch $A"
echo "@@self $$"
printf '@@pids'; for d in [0-9]*; do printf ' %s' "$d"; done; echo
echo '@@grep'
grep -H -a '' uptime locks [0-9]*/stat [0-9]*/syscall [0-9]*/wchan [0-9]*/io [0-9]*/cmdline >"$T" 2>>"$E"
cat "$T"
grep -H -a -E '^(Name|Uid|NSpid|voluntary_ctxt_switches|nonvoluntary_ctxt_switches|se[.]exec_start)' [0-9]*/status [0-9]*/sched 2>>"$E"
grep -H -a '' [0-9]*/fdinfo/* 2>>"$E"
MT=$(awk '/^[0-9]+[/]stat:/ { c = index($0, ":"); s = substr($0, c + 1); sub(/^.*[)] /, "", s); split(s, w, " "); if (w[18] + 0 > 1) print substr($0, 1, index($0, "/") - 1) }' "$T")
if [ -n "$MT" ]; then
  set --
  for p in $MT; do set -- "$@" "$p"/task/[0-9]*/stat "$p"/task/[0-9]*/syscall "$p"/task/[0-9]*/wchan; done
  grep -H -a '' "$@" >"$U" 2>>"$E"
  cat "$U"
  set --
  for p in $MT; do set -- "$@" "$p"/task/[0-9]*/status "$p"/task/[0-9]*/sched; done
  grep -H -a -E '^(voluntary_ctxt_switches|nonvoluntary_ctxt_switches|se[.]exec_start)' "$@" 2>>"$E"
fi
echo '@@links'
find self/ns/net self/ns/mnt [0-9]*/ns/net [0-9]*/ns/mnt [0-9]*/fd -maxdepth 1 -type l -printf '%p\\t%l\\n' >"$L" 2>>"$E"
cat "$L"
echo '@@net'
S=$(grep '^self/ns/net' "$L" | cut -f2)
grep -H '' self/net/tcp self/net/tcp6 $(awk -F'\\t' -v s="$S" '$1 ~ /[/]ns[/]net$/ && $1 !~ /^self/ && $2 != s && !seen[$2]++ { split($1, p, "/"); print p[1] "/net/tcp"; print p[1] "/net/tcp6" }' "$L") 2>>"$E"
awk -v arch="$A" '
function hex(s,   i, v) { s = tolower(s); sub(/^0x/, "", s); v = 0; for (i = 1; i <= length(s); i++) v = v * 16 + index("0123456789abcdef", substr(s, i, 1)) - 1; return v }
function want(pid, addr, len) { if (!seen[pid " " addr " " len]++) print pid, addr, len }
/^[0-9]+[/](task[/][0-9]+[/])?syscall:[0-9]/ {
  c = index($0, ":"); split(substr($0, 1, c - 1), p, "/"); n = split(substr($0, c + 1), w, " ")
  key = arch ":" w[1]
  if (key ~ /^(${pollCase})$/) { nf = hex(w[3]); if (nf > 0 && nf <= 64) want(p[1], w[2], nf * 8); if (key ~ /^(${ppollCase})$/ && w[4] != "0x0") want(p[1], w[4], 16) }
  else if (key ~ /^(${selectCase})$/) { nf = hex(w[2]); if (nf > 1024) nf = 1024; len = int((nf + 63) / 64) * 8; if (len > 0) { if (w[3] != "0x0") want(p[1], w[3], len); if (w[4] != "0x0") want(p[1], w[4], len); if (w[6] != "0x0") want(p[1], w[6], 16) } }
  else if (key ~ /^(${epollPwait2Case})$/ && w[5] != "0x0") want(p[1], w[5], 16)
}' "$T" "$U" | while read -r pid addr len; do
  echo "@@mem $pid $addr $len"
  dd if="$pid/mem" bs="$len" count=1 skip="$((addr))" iflag=skip_bytes 2>>"$E" | od -An -v -tx1
done
# sock_diag in the sidecar's netns (the target's): socket times, unacked bytes, retransmits.
if command -v ss >/dev/null 2>&1; then echo '@@ss'; ss -tinHe 2>>"$E" || echo "@@ss-failed $?"; else echo '@@ss-missing'; fi
echo '@@errors'
cat "$E"
rm -f "$E" "$T" "$L" "$U"
echo '@@end'
`;
}

interface Dump {
  arch: Arch;
  archName: string;
  /** `ss -tinHe` output, or why there is none. */
  ss: { text: string } | { missing: string };
  self: number;
  pids: number[];
  files: Map<string, string>;
  links: Map<string, string>;
  fdsByPid: Map<number, FdLink[]>;
  /** Threads listed for a multi-threaded process (from its task/TID/stat files). */
  tidsByPid: Map<number, number[]>;
  nets: Map<string, string>; // `self/net/tcp` or `PID/net/tcp` -> text
  mems: Array<{ pid: number; address: bigint; bytes: Buffer }>;
  errors: Map<string, string>;
  complete: boolean;
}

const ERRNO: Array<[RegExp, string]> = [
  [/Permission denied/i, 'EACCES'],
  [/Operation not permitted/i, 'EPERM'],
  [/No such file or directory/i, 'ENOENT'],
  [/No such process/i, 'ESRCH'],
  [/Input\/output error/i, 'EIO'],
];

/** Parse the script's output. Tolerates truncation: whatever sections arrived are used. */
export function parseDump(stdout: string): Dump {
  const dump: Dump = {
    arch: 'unknown',
    archName: '',
    ss: { missing: 'the collector script did not reach ss' },
    self: -1,
    pids: [],
    files: new Map(),
    links: new Map(),
    fdsByPid: new Map(),
    tidsByPid: new Map(),
    nets: new Map(),
    mems: [],
    errors: new Map(),
    complete: false,
  };
  const fileLines = new Map<string, string[]>();
  const addLine = (target: Map<string, string[]>, path: string, content: string): void => {
    const lines = target.get(path);
    if (lines) lines.push(content);
    else target.set(path, [content]);
  };
  const netLines = new Map<string, string[]>();
  let section = '';
  let ssLines: string[] | undefined;
  let mem: { pid: number; address: bigint; hex: string[] } | undefined;
  const flushMem = (): void => {
    if (mem) {
      const bytes = Buffer.from(mem.hex.join('').replace(/[^0-9a-fA-F]/g, ''), 'hex');
      if (bytes.length > 0) dump.mems.push({ pid: mem.pid, address: mem.address, bytes });
      mem = undefined;
    }
  };
  for (const line of stdout.split('\n')) {
    if (line.startsWith('@@')) {
      flushMem();
      const [tag, ...rest] = line.slice(2).split(' ');
      section = tag ?? '';
      if (tag === 'arch') {
        dump.archName = rest.join(' ').trim();
        dump.arch = normalizeArch(dump.archName) ?? 'unknown';
      } else if (tag === 'ss') ssLines = [];
      else if (tag === 'ss-missing') dump.ss = { missing: 'ss (iproute2) is not installed in the sidecar' };
      else if (tag === 'ss-failed') dump.ss = { missing: `ss -tinHe failed in the sidecar (exit ${rest[0] ?? '?'})` };
      else if (tag === 'self') dump.self = Number(rest[0]);
      else if (tag === 'pids') dump.pids = rest.filter((w) => /^[0-9]+$/.test(w)).map(Number);
      else if (tag === 'mem') {
        try {
          mem = { pid: Number(rest[0]), address: BigInt(rest[1] ?? 'x'), hex: [] };
        } catch {
          mem = undefined;
        }
      } else if (tag === 'end') dump.complete = true;
      continue;
    }
    switch (section) {
      case 'grep': {
        const c = line.indexOf(':');
        if (c > 0) addLine(fileLines, line.slice(0, c), line.slice(c + 1));
        break;
      }
      case 'links': {
        const tab = line.indexOf('\t');
        if (tab > 0) dump.links.set(line.slice(0, tab), line.slice(tab + 1));
        break;
      }
      case 'net': {
        const c = line.indexOf(':');
        if (c > 0) addLine(netLines, line.slice(0, c), line.slice(c + 1));
        break;
      }
      case 'mem':
        mem?.hex.push(line);
        break;
      case 'ss':
        ssLines?.push(line);
        break;
      case 'errors': {
        const m = /^[a-z]+: (?:failed to open |error reading |cannot open )?['"‘]?([^'"’:]+)['"’]?: (.*)$/.exec(line);
        if (m) dump.errors.set(m[1] as string, ERRNO.find(([re]) => re.test(m[2] as string))?.[1] ?? 'EIO');
        break;
      }
      default:
        break;
    }
  }
  flushMem();
  if (ssLines && !('missing' in dump.ss && dump.ss.missing.startsWith('ss -tinHe failed'))) dump.ss = { text: ssLines.join('\n') };
  for (const [path, lines] of fileLines) {
    dump.files.set(path, `${lines.join('\n')}\n`);
    const task = /^([0-9]+)\/task\/([0-9]+)\/stat$/.exec(path);
    if (task) {
      const pid = Number(task[1]);
      const tids = dump.tidsByPid.get(pid) ?? [];
      tids.push(Number(task[2]));
      dump.tidsByPid.set(pid, tids);
    }
  }
  for (const [path, lines] of netLines) dump.nets.set(path, `${lines.join('\n')}\n`);
  for (const [path, target] of dump.links) {
    const m = /^([0-9]+)\/fd\/([0-9]+)$/.exec(path);
    if (!m) continue;
    const pid = Number(m[1]);
    const fds = dump.fdsByPid.get(pid) ?? [];
    fds.push({ fd: Number(m[2]), target });
    dump.fdsByPid.set(pid, fds);
  }
  return dump;
}

const PER_PID_FILE = /^([0-9]+)\/(stat|status|syscall|wchan|io|cmdline|sched|fdinfo\/[0-9]+)$/;
const PER_TASK_FILE = /^([0-9]+\/task\/[0-9]+)\/(status|syscall|wchan|sched)$/;

class DumpSnapshot implements ProcSnapshot {
  readonly arch: Arch;
  readonly archName: string;
  private sockDiag: SockDiagResult | undefined;
  readonly ownPids: ReadonlySet<number>;
  private readonly pidSet: Set<number>;
  private readonly selfNet: string | undefined;

  constructor(
    private readonly dump: Dump,
    readonly takenAtMs: number,
    sidecar: boolean,
  ) {
    this.arch = dump.arch;
    this.archName = dump.archName;
    this.pidSet = new Set(dump.pids);
    this.selfNet = dump.links.get('self/ns/net');
    const own = new Set<number>();
    const selfMnt = dump.links.get('self/ns/mnt');
    for (const pid of dump.pids) {
      if (pid === dump.self) own.add(pid);
      else if (sidecar && selfMnt !== undefined && dump.links.get(`${pid}/ns/mnt`) === selfMnt) own.add(pid);
      else {
        // The script's own children (grep, find, awk, dd …).
        const stat = dump.files.get(`${pid}/stat`);
        const ppid = stat ? parseStat(stat)?.ppid : undefined;
        if (ppid === dump.self) own.add(pid);
      }
    }
    this.ownPids = own;
  }

  /** ss ran in the sidecar's netns: it covers the processes that share it (normally all). */
  sockets(pid: number): SockDiagResult {
    const ns = this.dump.links.get(`${pid}/ns/net`);
    if (ns !== undefined && this.selfNet !== undefined && ns !== this.selfNet) {
      return { ok: false, reason: 'it runs in another network namespace than the sidecar' };
    }
    const ss = this.dump.ss;
    if ('missing' in ss) return { ok: false, reason: ss.missing };
    this.sockDiag ??= { ok: true, byInode: parseSs(ss.text), via: 'ss -tinHe in the sidecar' };
    return this.sockDiag;
  }

  listPids(): number[] {
    return [...this.dump.pids].sort((a, b) => a - b);
  }

  read(relPath: string): ReadResult {
    const net = /^([0-9]+)\/net\/(tcp6?)$/.exec(relPath);
    if (net) {
      const direct = this.dump.nets.get(relPath);
      if (direct !== undefined) return { ok: true, text: direct };
      const ns = this.dump.links.get(`${net[1]}/ns/net`);
      if (ns === undefined || ns === this.selfNet) {
        const self = this.dump.nets.get(`self/net/${net[2]}`);
        if (self !== undefined) return { ok: true, text: self };
      }
      return { ok: false, error: this.dump.errors.get(relPath) ?? 'ENOENT' };
    }
    const text = this.dump.files.get(relPath);
    if (text !== undefined) return { ok: true, text };
    const error = this.dump.errors.get(relPath);
    if (error) return { ok: false, error };
    const m = PER_PID_FILE.exec(relPath);
    // grep prints nothing for an empty file (a kernel thread's cmdline): present, but empty.
    if (m && this.pidSet.has(Number(m[1])) && this.dump.complete && this.dump.files.has(`${m[1]}/stat`)) {
      return { ok: true, text: '' };
    }
    // A thread's status and sched lines are filtered by grep: none printed is an empty file too.
    const t = PER_TASK_FILE.exec(relPath);
    if (t && this.dump.complete && this.dump.files.has(`${t[1]}/stat`)) return { ok: true, text: '' };
    return { ok: false, error: 'ENOENT' };
  }

  listTids(pid: number): TidListResult {
    const tids = this.dump.tidsByPid.get(pid);
    if (tids) return { ok: true, tids: [...tids].sort((a, b) => a - b) };
    return { ok: false, error: this.dump.errors.get(`${pid}/task`) ?? 'ENOENT' };
  }

  readLink(relPath: string): ReadResult {
    const target = this.dump.links.get(relPath);
    if (target !== undefined) return { ok: true, text: target };
    return { ok: false, error: this.dump.errors.get(relPath) ?? 'ENOENT' };
  }

  listFds(pid: number): FdListResult {
    const error = this.dump.errors.get(`${pid}/fd`);
    if (error) return { ok: false, error };
    if (!this.pidSet.has(pid)) return { ok: false, error: 'ENOENT' };
    return { ok: true, fds: [...(this.dump.fdsByPid.get(pid) ?? [])].sort((a, b) => a.fd - b.fd) };
  }

  readMem(pid: number, address: bigint, length: number): MemResult {
    for (const m of this.dump.mems) {
      if (m.pid !== pid) continue;
      const offset = address - m.address;
      if (offset >= 0n && offset + BigInt(length) <= BigInt(m.bytes.length)) {
        const start = Number(offset);
        return { ok: true, bytes: m.bytes.subarray(start, start + length) };
      }
    }
    return { ok: false, error: this.dump.errors.get(`${pid}/mem`) ?? 'ENODATA' };
  }
}

export class ContainerProcReader implements ProcReader {
  readonly description: string;
  private readonly script = collectorScript();

  constructor(
    private readonly execer: Execer,
    private readonly options: ContainerReaderOptions = {},
  ) {
    this.description = `container ${options.name ?? ''}${options.sidecar === false ? '' : ' (via sidecar)'}`.replace('  ', ' ');
  }

  async snapshot(): Promise<ProcSnapshot> {
    const before = monotonicMs();
    const result = await this.execer.exec(['sh', '-c', this.script], { timeoutMs: this.options.timeoutMs ?? 30_000 });
    const after = monotonicMs();
    if (result.exitCode === 97 || !result.stdout.includes('@@pids')) {
      throw new Error(
        `diagnose: the collector script failed in ${this.options.name ?? 'the container'} (exit ${result.exitCode}): ${result.stderr.trim().split('\n').slice(-3).join(' | ')}`,
      );
    }
    return new DumpSnapshot(parseDump(result.stdout), (before + after) / 2, this.options.sidecar !== false);
  }
}
