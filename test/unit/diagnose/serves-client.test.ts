/**
 * worker.ts servesClient: whether anyone waits on a process outside lock chains (decides whether a
 * trickle it reads is a hang or a stream).
 */
import type { FdEntry, ProcessSample } from '../../../harness/diagnose/model';
import type { TcpSocket, UnixSocket } from '../../../harness/diagnose/parse';
import { servesClient } from '../../../harness/diagnose/worker';

const tcp = (localPort: number, state = 'ESTABLISHED'): TcpSocket =>
  ({ local: { ip: '10.0.0.10', port: localPort }, remote: { ip: '10.0.0.99', port: 50000 }, state, inode: localPort }) as unknown as TcpSocket;
const unix = (over: Partial<UnixSocket>): UnixSocket => ({ inode: 1, type: 'stream', state: 'CONNECTED', listening: false, ...over });
const proc = (fds: FdEntry[] | undefined): ProcessSample => ({ pid: 1, fds }) as unknown as ProcessSample;
const fd = (n: number, extra: Partial<FdEntry>): FdEntry => ({ fd: n, target: `socket:[${n}]`, type: 'socket', ...extra });
// Port 80 is a listener of the pool.
const inbound = (_p: ProcessSample, t: TcpSocket): boolean => t.local.port === 80;

describe('servesClient', () => {
  test('an accepted TCP connection is a client; the listener itself and outbound connections are not', () => {
    expect(servesClient(proc([fd(3, { tcp: tcp(43210) }), fd(4, { tcp: tcp(80) })]), inbound)).toBe(true);
    expect(servesClient(proc([fd(3, { tcp: tcp(43210) }), fd(4, { tcp: tcp(80, 'LISTEN') })]), inbound)).toBe(false);
  });

  test('a UNIX socket carrying the listener name is an accepted client; a connected unnamed one (journald, a socketpair) is not', () => {
    expect(servesClient(proc([fd(3, { tcp: tcp(43210) }), fd(5, { unix: unix({ path: '/run/php/fpm.sock' }) })]), inbound)).toBe(true);
    expect(servesClient(proc([fd(3, { tcp: tcp(43210) }), fd(1, { unix: unix({}) }), fd(5, { unix: unix({ path: '/run/php/fpm.sock', listening: true, state: 'UNCONNECTED' }) })]), inbound)).toBe(false);
  });

  test('unread fds, or a socket that is neither TCP nor a known UNIX one, cannot tell', () => {
    expect(servesClient(proc(undefined), inbound)).toBeUndefined();
    expect(servesClient(undefined, inbound)).toBeUndefined();
    expect(servesClient(proc([fd(3, { tcp: tcp(43210) }), fd(6, {})]), inbound)).toBeUndefined();
  });
});
