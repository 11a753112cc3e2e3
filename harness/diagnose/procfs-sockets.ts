/**
 * The `ss` runs of the local reader (procfs-local.ts): sock_diag's TCP socket times (`ss -tinHe`) in
 * a target's network namespace — faultline's own without blocking, another through nsenter — and
 * unix_diag's UNIX sockets (`ss -xHn`) in faultline's own. Only for the live kernel's /proc.
 */
import { execFile, execFileSync, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { errorCode, type UnixDiagResult } from './procfs-types';
import { parseSs, type SockDiagResult } from './sockdiag';

const SS_ARGS = ['-tinHe'];

/** Runs ss in faultline's own netns without blocking: ~10 ms of a process spawn, overlapped with the /proc reads. */
export function ssAsync(): Promise<SockDiagResult> {
  return new Promise((resolve) => {
    execFile('ss', SS_ARGS, { encoding: 'utf8', timeout: 5000, maxBuffer: 64 << 20 }, (error, stdout, stderr) => {
      if (error) {
        const code = errorCode(error);
        resolve({ ok: false, reason: code === 'ENOENT' ? 'ss is not installed (iproute2)' : `ss ${SS_ARGS.join(' ')} failed: ${String(stderr).trim().split('\n')[0] || code}` });
      } else resolve({ ok: true, byInode: parseSs(stdout), via: 'ss -tinHe' });
    });
  });
}

/** ss, run in the target's netns: directly when it is ours, through nsenter when root. */
export function localSockets(root: string, pid: number, ownNetns?: SockDiagResult): SockDiagResult {
  if (root !== '/proc') return { ok: false, reason: `sock_diag reads the live kernel, not the procfs at ${root}` };
  let theirs: string;
  let ours: string;
  try {
    theirs = fs.readlinkSync(path.join(root, `${pid}/ns/net`));
    ours = fs.readlinkSync(path.join(root, 'self/ns/net'));
  } catch (e) {
    return { ok: false, reason: `its network namespace is unreadable (${errorCode(e)})` };
  }
  if (theirs === ours && ownNetns) return ownNetns;
  const root0 = typeof process.geteuid === 'function' && process.geteuid() === 0;
  if (theirs !== ours && !root0) return { ok: false, reason: 'it runs in another network namespace, which only root can enter (nsenter)' };
  const argv = theirs === ours ? ['ss', '-tinHe'] : ['nsenter', `--net=${root}/${pid}/ns/net`, 'ss', '-tinHe'];
  const r = spawnSync(argv[0] as string, argv.slice(1), { encoding: 'utf8', timeout: 5000, maxBuffer: 64 << 20 });
  if (r.error) {
    const code = errorCode(r.error);
    return { ok: false, reason: code === 'ENOENT' ? `${argv[0]} is not installed (iproute2${argv[0] === 'nsenter' ? ', util-linux' : ''})` : `${argv[0]} failed (${code})` };
  }
  if (r.status !== 0) return { ok: false, reason: `${argv.join(' ')} exited ${r.status}: ${r.stderr.trim().split('\n')[0] ?? ''}` };
  return { ok: true, byInode: parseSs(r.stdout), via: theirs === ours ? 'ss -tinHe' : 'nsenter --net ss -tinHe' };
}

/** `ss -xHn`, for the host's own /proc only: ENOTSUP for a procfs mounted elsewhere. */
export function localUnixDiag(root: string): UnixDiagResult {
  if (root !== '/proc') return { ok: false, error: 'ENOTSUP' };
  try {
    const netns = fs.readlinkSync('/proc/self/ns/net');
    // ss lists every UNIX socket of the netns (~1 ms per thousand); 2 s bounds a wedged one.
    const text = execFileSync('ss', ['-xHn'], { encoding: 'utf8', timeout: 2000, maxBuffer: 64 << 20, stdio: ['ignore', 'pipe', 'ignore'] });
    return { ok: true, text, netns };
  } catch (e) {
    return { ok: false, error: errorCode(e) };
  }
}
