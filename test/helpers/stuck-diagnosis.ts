/** Recorded diagnoses for the emitter's tests (unit: the text; integration: the emitted files run). */

/** A diagnosis as the diagnoser's JSON has it: a flock convoy behind a reader of a silent peer. */
export function stuckDiagnosis(kind = 'half-open-read', extra: Record<string, unknown> = {}) {
  return {
    verdict: 'stuck',
    culprit: {
      pid: 10,
      command: 'apache2',
      cmdline: '/usr/sbin/apache2 -k start',
      kind,
      syscall: 'poll(1 fds, timeout -1)',
      resource: { type: 'tcp', remote: '10.0.0.7:6379', service: 'Sessions_DB', state: 'ESTABLISHED', timer: 'none' },
      holds: [{ type: 'FLOCK', access: 'WRITE', file: '00:2a:11', path: '/var/lib/php/sessions/sess_x' }],
      waiters: [11, 12, 13],
      evidence: [],
    },
    chains: [{ root: 10, kind, culprit: true, waiters: [11, 12, 13], links: [{ lock: { type: 'FLOCK', access: 'WRITE', file: '00:2a:11' }, holder: 10, waiters: [11, 12, 13] }], resource: { type: 'tcp', service: 'Sessions_DB' }, syscall: 'poll', evidence: [] }],
    processes: [
      { pid: 1, command: 'apache2', cmdline: 'apache2', state: 'S', syscall: null, wait: 'poll', role: 'other' },
      { pid: 10, command: 'apache2', cmdline: 'apache2', state: 'S', syscall: null, wait: 'poll', role: 'culprit' },
      { pid: 11, command: 'apache2', cmdline: 'apache2', state: 'S', syscall: null, wait: 'poll', role: 'waiter' },
      { pid: 12, command: 'apache2', cmdline: 'apache2', state: 'S', syscall: null, wait: 'poll', role: 'waiter' },
      { pid: 13, command: 'apache2', cmdline: 'apache2', state: 'S', syscall: null, wait: 'poll', role: 'waiter' },
      { pid: 14, command: 'apache2', cmdline: 'apache2', state: 'S', syscall: null, wait: 'poll', role: 'idle' },
    ],
    samples: 2,
    spanMs: 250,
    reader: 'local',
    arch: 'x86_64',
    warnings: [],
    ...extra,
  };
}
