/** Hand-written /proc trees for the diagnoser's unit tests (see FixtureProcReader for the format). */
import * as fs from 'node:fs';
import * as path from 'node:path';

export function writeTree(root: string, files: Record<string, string>): void {
  for (const [rel, text] of Object.entries(files)) {
    fs.mkdirSync(path.dirname(path.join(root, rel)), { recursive: true });
    fs.writeFileSync(path.join(root, rel), text);
  }
}

export const stat = (pid: number, state = 'S', cpu = 5) => `${pid} (worker) ${state} 1 ${pid} ${pid} 0 -1 4194560 100 0 0 0 ${cpu} 1 0 0 20 0 1 0 100 1000 100\n`;
export const status = (ctxt: number) => `Name:\tworker\nUid:\t33\t33\t33\t33\nvoluntary_ctxt_switches:\t${ctxt}\nnonvoluntary_ctxt_switches:\t1\n`;
export const TCP_HEADER = '  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode\n';
// 0A00000A = 10.0.0.10 (little-endian word), port 0x1F90 = 8080 (a listener); 0B00000A = 10.0.0.11:0x2382 = 9090 upstream.
export const tcpRow = (sl: number, local: string, remote: string, st: string, inode: number, tx = 0, rx = 0, timer = '00:00000000') =>
  `  ${sl}: ${local} ${remote} ${st} ${tx.toString(16).padStart(8, '0')}:${rx.toString(16).padStart(8, '0')} ${timer} 00000000    33        0 ${inode} 1 0000000000000000 20 4 30 10 -1\n`;

/** /proc/uptime 1000 s: workers (last ran at 940 s) have waited 60 s. */
export const UPTIME_60S = '1000.00 10.00\n';

export function worker(pid: number, syscall: string, fds: string, extra: Record<string, string> = {}, ctxt = 10): Record<string, string> {
  return {
    [`${pid}/stat`]: stat(pid),
    [`${pid}/status`]: status(ctxt),
    [`${pid}/syscall`]: syscall,
    [`${pid}/cmdline`]: `php-fpm: pool www\0`,
    [`${pid}/fd.links`]: fds,
    [`${pid}/ns/net`]: 'net:[4026532000]\n',
    // Last ran at 940 s of uptime: a tree with `uptime: UPTIME_60S` has it waiting 60 s.
    [`${pid}/sched`]: 'se.exec_start : 940000.000000\n',
    ...extra,
  };
}

