/**
 * Syscall numbers as /proc/PID/syscall prints them, per architecture, and what each one means for
 * a blocked process. Numbers come from the kernel's uapi headers (asm/unistd_64.h for x86_64,
 * asm-generic/unistd.h for aarch64); aarch64 has no poll/select/epoll_wait/pause, only their
 * p-variants, and its numbers overlap x86_64's (73 is flock on x86_64 and ppoll on aarch64).
 */
export type Arch = 'x86_64' | 'aarch64' | 'unknown';
/** The architectures whose syscall numbers faultline decodes. */
export const DECODED_ARCHES = ['x86_64', 'aarch64'] as const;

/** How a syscall waits, which decides how faultline looks for the fd and direction. */
export type SyscallClass =
  | 'read' // arg0 is an fd, waiting for data
  | 'write' // arg0 is an fd, waiting for buffer space
  | 'poll' // arg0 -> struct pollfd[arg1]
  | 'select' // arg0 = nfds, arg1 -> readfds, arg2 -> writefds
  | 'epoll' // arg0 = epoll fd (its fdinfo lists the watched fds)
  | 'connect' // arg0 is a socket fd
  | 'accept' // arg0 is a listening socket: an idle worker
  | 'flock' // arg0 is the fd, arg1 the operation
  | 'fcntl' // arg0 is the fd, arg1 the command (F_SETLKW / F_OFD_SETLKW wait)
  | 'sleep' // nanosleep & co: waiting on a clock, not on a resource
  | 'futex'
  | 'wait' // waiting for a child or a signal
  | 'other';

interface SyscallDef {
  name: string;
  cls: SyscallClass;
}

const common = (name: string, cls: SyscallClass): SyscallDef => ({ name, cls });

const X86_64: Record<number, SyscallDef> = {
  0: common('read', 'read'),
  1: common('write', 'write'),
  2: common('open', 'other'),
  3: common('close', 'other'),
  7: common('poll', 'poll'),
  8: common('lseek', 'other'),
  9: common('mmap', 'other'),
  16: common('ioctl', 'other'),
  17: common('pread64', 'read'),
  18: common('pwrite64', 'write'),
  19: common('readv', 'read'),
  20: common('writev', 'write'),
  23: common('select', 'select'),
  24: common('sched_yield', 'other'),
  34: common('pause', 'wait'),
  35: common('nanosleep', 'sleep'),
  40: common('sendfile', 'write'),
  41: common('socket', 'other'),
  42: common('connect', 'connect'),
  43: common('accept', 'accept'),
  44: common('sendto', 'write'),
  45: common('recvfrom', 'read'),
  46: common('sendmsg', 'write'),
  47: common('recvmsg', 'read'),
  48: common('shutdown', 'other'),
  49: common('bind', 'other'),
  50: common('listen', 'other'),
  60: common('exit', 'other'),
  61: common('wait4', 'wait'),
  65: common('semop', 'futex'),
  70: common('msgrcv', 'wait'),
  72: common('fcntl', 'fcntl'),
  73: common('flock', 'flock'),
  74: common('fsync', 'other'),
  75: common('fdatasync', 'other'),
  128: common('rt_sigtimedwait', 'wait'),
  130: common('rt_sigsuspend', 'wait'),
  202: common('futex', 'futex'),
  208: common('io_getevents', 'other'),
  219: common('restart_syscall', 'other'),
  220: common('semtimedop', 'futex'),
  230: common('clock_nanosleep', 'sleep'),
  231: common('exit_group', 'other'),
  232: common('epoll_wait', 'epoll'),
  247: common('waitid', 'wait'),
  257: common('openat', 'other'),
  270: common('pselect6', 'select'),
  271: common('ppoll', 'poll'),
  275: common('splice', 'read'),
  281: common('epoll_pwait', 'epoll'),
  288: common('accept4', 'accept'),
  299: common('recvmmsg', 'read'),
  307: common('sendmmsg', 'write'),
  426: common('io_uring_enter', 'other'),
  441: common('epoll_pwait2', 'epoll'),
  449: common('futex_waitv', 'futex'),
};

const AARCH64: Record<number, SyscallDef> = {
  4: common('io_getevents', 'other'),
  22: common('epoll_pwait', 'epoll'),
  25: common('fcntl', 'fcntl'),
  29: common('ioctl', 'other'),
  32: common('flock', 'flock'),
  56: common('openat', 'other'),
  57: common('close', 'other'),
  62: common('lseek', 'other'),
  63: common('read', 'read'),
  64: common('write', 'write'),
  65: common('readv', 'read'),
  66: common('writev', 'write'),
  67: common('pread64', 'read'),
  68: common('pwrite64', 'write'),
  71: common('sendfile', 'write'),
  72: common('pselect6', 'select'),
  73: common('ppoll', 'poll'),
  76: common('splice', 'read'),
  82: common('fsync', 'other'),
  83: common('fdatasync', 'other'),
  93: common('exit', 'other'),
  94: common('exit_group', 'other'),
  95: common('waitid', 'wait'),
  98: common('futex', 'futex'),
  101: common('nanosleep', 'sleep'),
  115: common('clock_nanosleep', 'sleep'),
  124: common('sched_yield', 'other'),
  128: common('restart_syscall', 'other'),
  133: common('rt_sigsuspend', 'wait'),
  137: common('rt_sigtimedwait', 'wait'),
  188: common('msgrcv', 'wait'),
  192: common('semtimedop', 'futex'),
  193: common('semop', 'futex'),
  198: common('socket', 'other'),
  200: common('bind', 'other'),
  201: common('listen', 'other'),
  202: common('accept', 'accept'),
  203: common('connect', 'connect'),
  206: common('sendto', 'write'),
  207: common('recvfrom', 'read'),
  210: common('shutdown', 'other'),
  211: common('sendmsg', 'write'),
  212: common('recvmsg', 'read'),
  222: common('mmap', 'other'),
  242: common('accept4', 'accept'),
  243: common('recvmmsg', 'read'),
  260: common('wait4', 'wait'),
  269: common('sendmmsg', 'write'),
  426: common('io_uring_enter', 'other'),
  441: common('epoll_pwait2', 'epoll'),
  449: common('futex_waitv', 'futex'),
};

// An architecture we cannot decode gets no table: every number reads as syscall_N (class other),
// never as another architecture's syscall (riscv64's ppoll, 73, is x86_64's flock).
const TABLES: Record<Arch, Record<number, SyscallDef>> = { x86_64: X86_64, aarch64: AARCH64, unknown: {} };

export interface DecodedSyscall {
  nr: number;
  name: string;
  cls: SyscallClass;
}

export function decodeSyscall(arch: Arch, nr: number): DecodedSyscall {
  const def = TABLES[arch][nr];
  return def ? { nr, name: def.name, cls: def.cls } : { nr, name: `syscall_${nr}`, cls: 'other' };
}

/** The numbers of a class of syscalls (or of the named ones) on an architecture (for the in-container collector script). */
export function syscallNumbers(arch: Arch, cls: SyscallClass, names?: readonly string[]): number[] {
  return Object.entries(TABLES[arch])
    .filter(([, def]) => def.cls === cls && (!names || names.includes(def.name)))
    .map(([nr]) => Number(nr));
}

/** `uname -m` / Node's os.machine() to our names; undefined for architectures we cannot decode. */
export function normalizeArch(name: string): Arch | undefined {
  const n = name.trim().toLowerCase();
  if (n === 'x86_64' || n === 'x64' || n === 'amd64') return 'x86_64';
  if (n === 'aarch64' || n === 'arm64') return 'aarch64';
  return undefined;
}

// fcntl commands that block (include/uapi/asm-generic/fcntl.h): F_SETLKW = 7, F_OFD_SETLKW = 38.
export const F_SETLKW = 7;
export const F_OFD_SETLKW = 38;
export const LOCK_SH = 1;
export const LOCK_EX = 2;

export const POLLIN = 0x1;
export const POLLPRI = 0x2;
export const POLLOUT = 0x4;
// epoll uses the same bit values for EPOLLIN / EPOLLOUT.
