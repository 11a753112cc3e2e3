import type Docker from 'dockerode';
import { UsageError } from '../errors';

/**
 * What each kind of container faultline starts may do: every capability is dropped, then only the
 * ones the kind was measured to need are added back; pids and memory are capped with headroom.
 * Measured on Docker 20.10 with `--cap-drop ALL` and the bundled images (see README, "Cleanup and
 * safety"):
 * - web (Apache prefork + mod_php): the root parent setuid/setgid()s to www-data (SETUID, SETGID)
 *   and signals its www-data children on stop (KILL; without it `docker stop` waits its full
 *   timeout). Port 80 is bound through the netns sysctl ip_unprivileged_port_start=0 instead of
 *   NET_BIND_SERVICE. Logs go to stdout and sessions to a 1733 directory: no DAC capability.
 *   Idle use: 16 MiB and 9 pids at 8 workers, 66 MiB and 65 pids at 64; 177 MiB at the peak of
 *   the upload scenarios (slow-node, stalled-write) with 8 workers.
 * - storage (Node), toxiproxy (static Go binary): run as root on their own files and ports >= 1024:
 *   nothing. Peak use in the upload scenarios: 43 MiB / 18 pids (storage), 10 MiB / 10 pids
 *   (toxiproxy).
 * - net-admin sidecar: iptables-legacy needs NET_ADMIN and NET_RAW (it talks to the kernel's
 *   tables through a raw socket: "can't initialize iptables table `filter': Permission denied"
 *   without NET_RAW).
 * - ptrace sidecar: SYS_PTRACE for the fd/, syscall, io, mem of processes of another uid, and
 *   DAC_READ_SEARCH because a *dumpable* process's /proc/PID/fd is mode 0500 owned by its uid
 *   (a Python worker dropped to nobody): root without it cannot even list it.
 * - app (a user's web tier, unknown): the usual needs of a server that starts as root and drops
 *   to a user (SETUID, SETGID, KILL) and fixes ownership of its files at start (CHOWN,
 *   DAC_OVERRIDE, FOWNER). Docker's defaults minus NET_RAW, MKNOD, SETFCAP, SETPCAP, SYS_CHROOT,
 *   AUDIT_WRITE, FSETID and NET_BIND_SERVICE (the sysctl covers low ports). Overridable.
 */
export type ContainerKind = 'web' | 'app' | 'storage' | 'toxiproxy' | 'net-admin' | 'ptrace';

export interface Hardening {
  /** Capabilities added back after `CapDrop: ['ALL']`, without the CAP_ prefix. */
  capabilities: string[];
  pidsLimit: number;
  memoryMiB: number;
  /** Whether the container's own network namespace lets any user bind ports below 1024. */
  lowPortsUnprivileged: boolean;
}

/** What a user may change for a container (the web tier of a topology). */
export interface HardeningOverrides {
  capabilities?: string[];
  pidsLimit?: number;
  memoryMiB?: number;
}

const MiB = 1024 * 1024;

/**
 * Limits grow with the worker pool where a kind has one. PHP's memory_limit is 256M per request,
 * but the scenarios' largest body is 24 MiB: 32 MiB per worker is several times what a worker
 * holds, and a runaway still stops at the cgroup instead of the host.
 */
export function hardeningFor(kind: ContainerKind, opts: { workers?: number } = {}): Hardening {
  const workers = opts.workers ?? 8;
  switch (kind) {
    case 'web':
      return { capabilities: ['SETUID', 'SETGID', 'KILL'], pidsLimit: 64 + 2 * workers, memoryMiB: 256 + 32 * workers, lowPortsUnprivileged: true };
    case 'app':
      return {
        capabilities: ['CHOWN', 'DAC_OVERRIDE', 'FOWNER', 'SETUID', 'SETGID', 'KILL'],
        pidsLimit: 512 + 8 * workers,
        memoryMiB: 512 + 64 * workers,
        lowPortsUnprivileged: true,
      };
    case 'storage':
      return { capabilities: [], pidsLimit: 128, memoryMiB: 512, lowPortsUnprivileged: false };
    case 'toxiproxy':
      // The latency toxic buffers up to ~32 MiB per direction and connection before it blocks.
      return { capabilities: [], pidsLimit: 256, memoryMiB: 1024, lowPortsUnprivileged: false };
    case 'net-admin':
      return { capabilities: ['NET_ADMIN', 'NET_RAW'], pidsLimit: 64, memoryMiB: 128, lowPortsUnprivileged: false };
    case 'ptrace':
      return { capabilities: ['SYS_PTRACE', 'DAC_READ_SEARCH'], pidsLimit: 64, memoryMiB: 256, lowPortsUnprivileged: false };
  }
}

/** Linux capabilities (capability.h, 5.x): a name outside this list is a typo, not a request. */
const KNOWN_CAPABILITIES = new Set([
  'CHOWN', 'DAC_OVERRIDE', 'DAC_READ_SEARCH', 'FOWNER', 'FSETID', 'KILL', 'SETGID', 'SETUID', 'SETPCAP',
  'LINUX_IMMUTABLE', 'NET_BIND_SERVICE', 'NET_BROADCAST', 'NET_ADMIN', 'NET_RAW', 'IPC_LOCK', 'IPC_OWNER',
  'SYS_MODULE', 'SYS_RAWIO', 'SYS_CHROOT', 'SYS_PTRACE', 'SYS_PACCT', 'SYS_ADMIN', 'SYS_BOOT', 'SYS_NICE',
  'SYS_RESOURCE', 'SYS_TIME', 'SYS_TTY_CONFIG', 'MKNOD', 'LEASE', 'AUDIT_WRITE', 'AUDIT_CONTROL', 'SETFCAP',
  'MAC_OVERRIDE', 'MAC_ADMIN', 'SYSLOG', 'WAKE_ALARM', 'BLOCK_SUSPEND', 'AUDIT_READ', 'PERFMON', 'BPF',
  'CHECKPOINT_RESTORE',
]);

/** Throws the usage error withOverrides would, at the builder, before any engine work. */
export function checkHardeningOverrides(overrides: HardeningOverrides, field: string): void {
  withOverrides(hardeningFor('app'), overrides, field);
}

/** Applies a user's overrides to a kind's defaults; bad values are one-line usage errors naming the field. */
export function withOverrides(base: Hardening, overrides: HardeningOverrides, field: string): Hardening {
  const out = { ...base, capabilities: [...base.capabilities] };
  if (overrides.capabilities !== undefined) {
    if (!Array.isArray(overrides.capabilities)) throw new UsageError(`${field}.capabilities must be a list of capability names like ["SETUID", "SETGID"]`);
    out.capabilities = overrides.capabilities.map((c) => {
      const name = String(c).toUpperCase().replace(/^CAP_/, '');
      if (name === 'ALL') throw new UsageError(`${field}.capabilities: "ALL" is refused (it is --privileged in all but name); list the capabilities the container needs`);
      if (!KNOWN_CAPABILITIES.has(name)) throw new UsageError(`${field}.capabilities: unknown capability "${String(c)}" (use a name like NET_BIND_SERVICE, see capabilities(7))`);
      return name;
    });
  }
  if (overrides.pidsLimit !== undefined) {
    if (!Number.isInteger(overrides.pidsLimit) || overrides.pidsLimit < 16 || overrides.pidsLimit > 1_000_000) {
      throw new UsageError(`${field}.pidsLimit must be an integer from 16 to 1000000, got ${overrides.pidsLimit}`);
    }
    out.pidsLimit = overrides.pidsLimit;
  }
  if (overrides.memoryMiB !== undefined) {
    if (!Number.isInteger(overrides.memoryMiB) || overrides.memoryMiB < 32 || overrides.memoryMiB > 1_048_576) {
      throw new UsageError(`${field}.memoryMiB must be an integer from 32 to 1048576 (MiB), got ${overrides.memoryMiB}`);
    }
    out.memoryMiB = overrides.memoryMiB;
  }
  return out;
}

/**
 * The HostConfig fields that enforce a Hardening. `no-new-privileges` holds for every kind: the
 * servers drop privileges with setuid() from root, which it does not affect; it only stops an
 * exec of a setuid binary (or one with file capabilities) from gaining more.
 */
export function hardenedHostConfig(h: Hardening): Pick<Docker.HostConfig, 'CapDrop' | 'CapAdd' | 'SecurityOpt' | 'PidsLimit' | 'Memory' | 'Sysctls'> {
  return {
    CapDrop: ['ALL'],
    CapAdd: [...h.capabilities],
    SecurityOpt: ['no-new-privileges'],
    PidsLimit: h.pidsLimit,
    Memory: h.memoryMiB * MiB,
    // Docker >= 20.10 sets this by default in a container's own netns; older engines do not.
    ...(h.lowPortsUnprivileged ? { Sysctls: { 'net.ipv4.ip_unprivileged_port_start': '0' } } : {}),
  };
}
