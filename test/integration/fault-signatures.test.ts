import type { ActiveFault, Fault } from '../../harness/faults/fault';
import { droppedRst, lostFin, partition, randomLoss, repliesLost, synBlackhole } from '../../harness/faults/packet';
import { toxic } from '../../harness/faults/proxy';
import { parseNetTcp, type TcpSocket } from '../../harness/diagnose/parse';
import type { Sidecar } from '../../harness/engine/sidecar';
import { netnsSidecar } from '../../harness/topology/sidecars';
import { Topology, type StartedTopology } from '../../harness/topology/topology';

/**
 * The TCP signature of every fault, measured: a connection is established through the fault from
 * the web's network namespace (bash's /dev/tcp in the web's NET_ADMIN sidecar: the web's own
 * kernel, address and routes), and the kernel state of the side whose packets are lost is read
 * from /proc/net/tcp (state, queues, timer, retransmits) and `ss -tinHe` (total retransmits).
 * Each is asserted against what the same loss gives on a real path: a packet lost on the wire is
 * retransmitted by its sender (timer 1, retransmits rising); a receiver that stops reading shows
 * its sender a zero window (timer 4, nothing retransmitted); a reset ends the connection at once.
 * One topology for all of them: each case opens its own connection and heals its fault.
 * The README's Faults table quotes these measurements.
 */
let topo: StartedTopology;
let web: Sidecar;
let proxyNs: Sidecar;
let storageNs: Sidecar;
beforeAll(async () => {
  topo = await new Topology().withStorageNodes(1).start();
  web = await netnsSidecar(topo, { of: 'web' });
  proxyNs = await netnsSidecar(topo, { of: 'toxiproxy' });
  storageNs = await netnsSidecar(topo, { of: 'service', name: 'storage-1' });
});
afterAll(async () => {
  await topo?.stop();
});

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
let connSeq = 0;

/** TCP timer codes of /proc/net/tcp (include/net/tcp.h, get_tcp4_sock). */
const TIMER = { none: 0, retransmit: 1, keepalive: 2, timeWait: 3, zeroWindowProbe: 4 } as const;

async function sh(s: Sidecar, script: string, ...args: string[]): Promise<string> {
  const r = await s.exec(['bash', '-c', script, 'sh', ...args]);
  if (r.exitCode !== 0) throw new Error(`${script.slice(0, 60)}: exit ${r.exitCode}: ${r.stderr}`);
  return r.stdout;
}

/**
 * A connection from the web's namespace to `service`'s proxy, driven by bash: `steps` run once it
 * is connected (`wait_go` blocks until go() is called). Its process sleeps on after the steps,
 * holding the socket, until close().
 */
class Conn {
  readonly id = `sig${++connSeq}`;
  pid = 0;
  constructor(readonly service: string) {}
  get target() {
    return topo.service(this.service).proxy.listen;
  }

  async open(steps: string): Promise<this> {
    const script = [
      'ID=$1',
      'exec </dev/null >/tmp/$ID.log 2>&1',
      'echo $$ > /tmp/$ID.pid',
      'wait_go() { while [ ! -e /tmp/$ID.go ]; do sleep 0.05; done; }',
      'exec 3<>/dev/tcp/$2/$3 || { echo CONNECT-FAILED; exit 1; }',
      'echo CONNECTED',
      'eval "$4"',
      'echo STEPS-DONE',
      'exec sleep 600',
    ].join('\n');
    await web.exec(['setsid', '-f', 'bash', '-c', script, 'conn', this.id, this.target.host, String(this.target.port), steps]);
    for (let i = 0; i < 100 && !this.pid; i++) {
      this.pid = Number((await web.exec(['cat', `/tmp/${this.id}.pid`])).stdout.trim()) || 0;
      if (!this.pid) await sleep(50);
    }
    return this;
  }

  async go(): Promise<void> {
    await sh(web, 'touch /tmp/$1.go', this.id);
  }

  async log(): Promise<string> {
    return (await web.exec(['cat', `/tmp/${this.id}.log`])).stdout;
  }

  async waitLog(re: RegExp, timeoutMs = 5000): Promise<string> {
    const until = Date.now() + timeoutMs;
    let text = await this.log();
    while (!re.test(text) && Date.now() < until) {
      await sleep(100);
      text = await this.log();
    }
    if (!re.test(text)) throw new Error(`${this.id}: ${re} not in its log after ${timeoutMs} ms: ${JSON.stringify(text)}`);
    return text;
  }

  /** The web's socket of this connection (by the inode of fd 3), or undefined once it is gone. */
  async socket(): Promise<TcpSocket | undefined> {
    const link = (await web.exec(['readlink', `/proc/${this.pid}/fd/3`])).stdout.trim();
    const inode = Number(/socket:\[(\d+)\]/.exec(link)?.[1]);
    if (!inode) return undefined;
    return (await sockets(web)).find((s) => s.inode === inode);
  }

  async close(): Promise<void> {
    if (this.pid) await web.exec(['kill', '-KILL', '--', `-${this.pid}`]);
  }
}

/**
 * Every TCP socket of the sidecar's namespace, IPv4 and IPv6 (Go and the storage node listen
 * dual-stack: their IPv4 connections are listed in tcp6 as ::ffff:a.b.c.d, shown here as a.b.c.d).
 */
async function sockets(s: Sidecar): Promise<TcpSocket[]> {
  const v4 = parseNetTcp(await sh(s, 'cat /proc/net/tcp'), 4);
  const v6 = parseNetTcp(await sh(s, 'cat /proc/net/tcp6 2>/dev/null || true'), 6);
  const plain = (e: TcpSocket['local']) => ({ ...e, ip: e.ip.replace(/^::ffff:/, '') });
  return [...v4, ...v6.map((x) => ({ ...x, local: plain(x.local), remote: plain(x.remote) }))];
}

/** `ss -tinHe`'s total retransmits (`retrans:<now>/<total>`) of the socket with `inode`. */
async function totalRetrans(s: Sidecar, inode: number): Promise<number | undefined> {
  const out = await sh(s, 'ss -tinHe');
  // One record per socket: its first line, then info lines that start with whitespace.
  const records = out.split(/\n(?=\S)/);
  const rec = records.find((r) => new RegExp(`\\bino:${inode}\\b`).test(r));
  if (!rec) return undefined;
  const m = /\bretrans:\d+\/(\d+)/.exec(rec);
  return m ? Number(m[1]) : 0;
}

async function withFault<T>(fault: Fault, body: (active: ActiveFault) => Promise<T>): Promise<{ value: T; active: ActiveFault }> {
  const active = await fault.inject(topo);
  try {
    return { value: await body(active), active };
  } finally {
    await active.heal();
  }
}

/** Retries `read` until `ok` holds or `timeoutMs` passes; returns the last reading. */
async function until<T>(read: () => Promise<T>, ok: (v: T) => boolean, timeoutMs: number): Promise<T> {
  const end = Date.now() + timeoutMs;
  let v = await read();
  while (!ok(v) && Date.now() < end) {
    await sleep(200);
    v = await read();
  }
  return v;
}

const PING_PONG = 'printf "PING\\n" >&3; read -t 5 -r reply <&3; echo "reply=$reply"; wait_go;';
const signatures: Record<string, unknown> = {};

afterAll(() => {
  // The measurements, for the README's table (printed, not asserted twice).
  process.stdout.write(`fault signatures measured:\n${JSON.stringify(signatures, null, 1)}\n`);
});

describe('data the web sends, lost on the way (partition drop, replies lost)', () => {
  test('partition: the web retransmits its unacknowledged bytes (timer 1), as across a cut path', async () => {
    const conn = await new Conn('storage-1').open(`${PING_PONG} head -c 89 /dev/zero >&3;`);
    await conn.waitLog(/reply=PONG/);
    const { value: s, active } = await withFault(partition('storage-1'), async () => {
      await conn.go();
      await sleep(4000);
      return conn.socket();
    });
    await conn.close();
    signatures.partition = s;
    expect(s).toMatchObject({ state: 'ESTABLISHED', txQueue: 89, timer: TIMER.retransmit });
    expect(s!.retransmits).toBeGreaterThanOrEqual(2);
    expect(active.effect?.confirmed).toBe(true);
  });

  test("control: the same drop in the web's own OUTPUT chain is not network loss (zero-window probe, no retransmit)", async () => {
    const { host, port } = topo.service('storage-1').proxy.listen;
    const conn = await new Conn('storage-1').open(`${PING_PONG} head -c 89 /dev/zero >&3;`);
    await conn.waitLog(/reply=PONG/);
    const rule = ['OUTPUT', '-p', 'tcp', '-d', host, '--dport', String(port), '-m', 'comment', '--comment', `faultline:${topo.runId}:control`, '-j', 'DROP'];
    await web.exec(['iptables', '-w', '-I', ...rule]);
    let s: TcpSocket | undefined;
    try {
      await conn.go();
      await sleep(4000);
      s = await conn.socket();
    } finally {
      await web.exec(['iptables', '-w', '-D', ...rule]);
      await conn.close();
    }
    signatures.outputDropControl = s;
    expect(s).toMatchObject({ state: 'ESTABLISHED', txQueue: 89, timer: TIMER.zeroWindowProbe, retransmits: 0 });
  });

  test('replies lost: the service got the bytes, but its ACKs never reach the web: the web retransmits', async () => {
    const conn = await new Conn('storage-1').open(`${PING_PONG} head -c 89 /dev/zero >&3;`);
    await conn.waitLog(/reply=PONG/);
    const { value: s, active } = await withFault(repliesLost('storage-1'), async () => {
      await conn.go();
      await sleep(4000);
      return conn.socket();
    });
    await conn.close();
    signatures.repliesLost = s;
    expect(s).toMatchObject({ state: 'ESTABLISHED', txQueue: 89, timer: TIMER.retransmit });
    expect(s!.retransmits).toBeGreaterThanOrEqual(2);
    expect(active.effect?.confirmed).toBe(true);
  });

  test("partition on the upstream hop: Toxiproxy's upstream socket retransmits what it forwards; the web's bytes are acknowledged", async () => {
    const svc = topo.service('storage-1').internal;
    const conn = await new Conn('storage-1').open(`${PING_PONG} head -c 89 /dev/zero >&3;`);
    await conn.waitLog(/reply=PONG/);
    const { value, active } = await withFault(partition('storage-1', { hop: 'upstream' }), async () => {
      await conn.go();
      await sleep(4000);
      const mine = await conn.socket();
      const upstream = (await sockets(proxyNs)).find((s) => s.remote.ip === svc.host && s.remote.port === svc.port && s.state === 'ESTABLISHED' && s.txQueue > 0);
      return { mine, upstream };
    });
    await conn.close();
    signatures.partitionUpstream = { web: value.mine, toxiproxyUpstream: value.upstream };
    // The web's hop is intact: Toxiproxy took the bytes. The loss is one hop further.
    expect(value.mine).toMatchObject({ state: 'ESTABLISHED', txQueue: 0 });
    expect(value.upstream).toMatchObject({ state: 'ESTABLISHED', txQueue: 89, timer: TIMER.retransmit });
    expect(value.upstream!.retransmits).toBeGreaterThanOrEqual(2);
    expect(active.effect?.confirmed).toBe(true);
  });

  test('random loss: a transfer goes through, with retransmissions', async () => {
    const bytes = 150_000;
    const conn = await new Conn('storage-1').open(`${PING_PONG} printf "PUT sig-loss ${bytes}\\n" >&3; head -c ${bytes} /dev/zero >&3; read -t 60 -r ok <&3; echo "stored=$ok";`);
    await conn.waitLog(/reply=PONG/);
    let inode = 0;
    const { value: retrans, active } = await withFault(randomLoss('storage-1', 0.2), async () => {
      await conn.go();
      await sleep(1000);
      inode = (await conn.socket())?.inode ?? 0;
      return until(() => totalRetrans(web, inode), (n) => (n ?? 0) >= 3, 8000);
    });
    const log = await conn.waitLog(/stored=/, 60_000);
    await conn.close();
    signatures.randomLoss = { totalRetrans: retrans, log: log.trim().split('\n').pop() };
    expect(retrans).toBeGreaterThanOrEqual(3);
    expect(log).toMatch(/stored=OK [0-9a-f]{64}/);
    expect(active.effect?.confirmed).toBe(true);
  });
});

describe("the peer's packets to the web lost (lost FIN, dropped RST)", () => {
  test("lost FIN: the web's socket stays ESTABLISHED; Toxiproxy's sits in FIN_WAIT1 retransmitting its FIN", async () => {
    const { value, active } = await withFault(lostFin('profile'), async () => {
      const conn = await new Conn('profile').open('printf "GET profile:alice\\n" >&3; cat <&3 >/dev/null; echo EOF-SEEN;');
      await sleep(4000);
      const mine = await conn.socket();
      const peer = (await sockets(proxyNs)).find((s) => s.remote.ip === topo.web.ip && s.remote.port === mine?.local.port);
      const log = await conn.log();
      await conn.close();
      return { mine, peer, log };
    });
    signatures.lostFin = { web: value.mine, toxiproxy: value.peer };
    expect(value.mine).toMatchObject({ state: 'ESTABLISHED', txQueue: 0, timer: TIMER.none });
    expect(value.log).not.toMatch(/EOF-SEEN/);
    expect(value.peer).toMatchObject({ state: 'FIN_WAIT1', timer: TIMER.retransmit });
    expect(value.peer!.retransmits).toBeGreaterThanOrEqual(1);
    expect(active.effect?.confirmed).toBe(true);
  });

  test('dropped RST: after a reset_peer the web never learns the connection is gone; its next bytes are retransmitted', async () => {
    const reset = await toxic('storage-1', 'reset_peer', { timeout: 0 }, { stream: 'upstream' }).inject(topo);
    const { value, active } = await withFault(droppedRst('storage-1'), async () => {
      // The first bytes make Toxiproxy reset (its RST is dropped); the next find no socket there,
      // and the kernel's RST answering them is dropped too.
      const conn = await new Conn('storage-1').open('printf "PING\\n" >&3; sleep 1; wait_go; printf "PING\\n" >&3;');
      await sleep(1500);
      await conn.go();
      await sleep(4000);
      const mine = await conn.socket();
      await conn.close();
      return mine;
    });
    await reset.heal();
    signatures.droppedRst = value;
    expect(value).toMatchObject({ state: 'ESTABLISHED', timer: TIMER.retransmit });
    expect(value!.txQueue).toBeGreaterThan(0);
    expect(value!.retransmits).toBeGreaterThanOrEqual(2);
    expect(active.effect?.confirmed).toBe(true);
    expect(reset.effect?.confirmed).toBe(true);
  });
});

describe('connects (SYN blackhole, partition drop-new and reject)', () => {
  /** The web's SYN_SENT socket toward the service's proxy, if any. */
  const synSent = async (service: string) => {
    const { host, port } = topo.service(service).proxy.listen;
    return (await sockets(web)).find((s) => s.state === 'SYN_SENT' && s.remote.ip === host && s.remote.port === port);
  };

  test('SYN blackhole: connect() waits in SYN_SENT, the SYN retransmitted (timer 1), as toward a dead host', async () => {
    const { value: s, active } = await withFault(synBlackhole('profile'), async () => {
      const conn = await new Conn('profile').open('');
      await sleep(3500);
      const s = await synSent('profile');
      await conn.close();
      return s;
    });
    signatures.synBlackhole = s;
    expect(s).toMatchObject({ state: 'SYN_SENT', timer: TIMER.retransmit });
    expect(s!.retransmits).toBeGreaterThanOrEqual(1);
    expect(active.effect?.confirmed).toBe(true);
  });

  test("a SYN dropped in the web's own OUTPUT chain looks the same (measured: why SYNs could stay there)", async () => {
    const { host, port } = topo.service('profile').proxy.listen;
    const rule = ['OUTPUT', '-p', 'tcp', '-d', host, '--dport', String(port), '--syn', '-m', 'comment', '--comment', `faultline:${topo.runId}:control-syn`, '-j', 'DROP'];
    await web.exec(['iptables', '-w', '-I', ...rule]);
    let s: TcpSocket | undefined;
    try {
      const conn = await new Conn('profile').open('');
      await sleep(3500);
      s = await synSent('profile');
      await conn.close();
    } finally {
      await web.exec(['iptables', '-w', '-D', ...rule]);
    }
    signatures.synOutputControl = s;
    expect(s).toMatchObject({ state: 'SYN_SENT', timer: TIMER.retransmit });
    expect(s!.retransmits).toBeGreaterThanOrEqual(1);
  });

  test('partition drop-new: an established connection still answers; a new connect waits in SYN_SENT', async () => {
    const old = await new Conn('storage-1').open(`${PING_PONG} printf "PING\\n" >&3; read -t 3 -r again <&3; echo "again=$again";`);
    await old.waitLog(/reply=PONG/);
    const { value, active } = await withFault(partition('storage-1', { behavior: 'drop-new' }), async () => {
      await old.go();
      const log = await old.waitLog(/again=/, 5000);
      const fresh = await new Conn('storage-1').open('');
      await sleep(3500);
      const s = await synSent('storage-1');
      await fresh.close();
      return { log, s };
    });
    await old.close();
    signatures.partitionDropNew = value.s;
    expect(value.log).toMatch(/again=PONG/);
    expect(value.s).toMatchObject({ state: 'SYN_SENT', timer: TIMER.retransmit });
    expect(active.effect?.confirmed).toBe(true);
  });

  test('partition reject: an established connection is reset at its next packet, a new connect is refused at once', async () => {
    const old = await new Conn('storage-1').open(`${PING_PONG} printf "PING\\n" >&3; read -t 3 -r again <&3; echo "again=[$again] status=$?";`);
    await old.waitLog(/reply=PONG/);
    const { value, active } = await withFault(partition('storage-1', { behavior: 'reject' }), async () => {
      await old.go();
      const log = await old.waitLog(/again=/, 3000);
      const gone = await until(() => old.socket(), (s) => s === undefined, 2000);
      const t0 = Date.now();
      const fresh = await new Conn('storage-1').open('');
      const refused = await fresh.waitLog(/CONNECT-FAILED/, 3000);
      return { log, gone, refused, refusedMs: Date.now() - t0 };
    });
    await old.close();
    signatures.partitionReject = { established: value.log.trim(), refusedMs: value.refusedMs };
    expect(value.log).toMatch(/Connection reset by peer|again=\[\]/);
    expect(value.gone).toBeUndefined();
    expect(value.refused).toMatch(/Connection refused/);
    expect(value.refusedMs).toBeLessThan(2000);
    expect(active.effect?.confirmed).toBe(true);
  });
});

describe('the Toxiproxy toxics the library uses', () => {
  test("bandwidth upstream (slow-node): the web's bytes queue unsent behind a zero window, none retransmitted", async () => {
    const bytes = 4 * 1024 * 1024;
    const { value, active } = await withFault(toxic('storage-1', 'bandwidth', { rate: 1 }, { stream: 'upstream' }), async () => {
      const conn = await new Conn('storage-1').open(`printf "PUT sig-slow ${bytes}\\n" >&3; head -c ${bytes} /dev/zero >&3;`);
      await sleep(5000);
      const s = await conn.socket();
      const total = s ? await totalRetrans(web, s.inode) : undefined;
      await conn.close();
      return { s, total };
    });
    signatures.bandwidthUpstream = { ...value.s, totalRetrans: value.total };
    // Zero-window probing, nothing being retransmitted now (a few retransmits while the window
    // closed are usual: the total is recorded, not asserted).
    expect(value.s).toMatchObject({ state: 'ESTABLISHED', timer: TIMER.zeroWindowProbe, retransmits: 0 });
    expect(value.s!.txQueue).toBeGreaterThan(64 * 1024);
    expect(active.effect?.confirmed).toBe(true);
  });

  test("bandwidth downstream (api-no-timeout): the service's bytes queue behind Toxiproxy's zero window; the web waits reading", async () => {
    // More than every buffer on the way can absorb (Toxiproxy's receive buffer autotunes up to
    // tcp_rmem's 6 MiB, the storage node's send buffer up to 4 MiB): with 2 MiB the node's queue
    // was drained into them in one run of three.
    const bytes = 16 * 1024 * 1024;
    const put = await new Conn('storage-1').open(`printf "PUT sig-big ${bytes}\\n" >&3; head -c ${bytes} /dev/zero >&3; read -t 30 -r ok <&3; echo "stored=$ok";`);
    await put.waitLog(/stored=OK/, 30_000);
    await put.close();
    const { port } = topo.service('storage-1').internal;
    const { value, active } = await withFault(toxic('storage-1', 'bandwidth', { rate: 1 }, { stream: 'downstream' }), async () => {
      const conn = await new Conn('storage-1').open('printf "GET sig-big\\n" >&3; cat <&3 >/dev/null; echo EOF-SEEN;');
      await sleep(5000);
      const mine = await conn.socket();
      const served = (await sockets(storageNs)).filter((s) => s.local.port === port && s.state === 'ESTABLISHED');
      const sender = served.sort((a, b) => b.txQueue - a.txQueue)[0];
      await conn.close();
      return { mine, sender };
    });
    signatures.bandwidthDownstream = { web: value.mine, storage: value.sender };
    expect(value.mine).toMatchObject({ state: 'ESTABLISHED', txQueue: 0, rxQueue: 0, timer: TIMER.none });
    expect(value.sender).toMatchObject({ state: 'ESTABLISHED', timer: TIMER.zeroWindowProbe, retransmits: 0 });
    expect(value.sender!.txQueue).toBeGreaterThan(64 * 1024);
    expect(active.effect?.confirmed).toBe(true);
  });

  test('reset_peer upstream (reset-mid-transfer): the web is reset as soon as its bytes arrive; the socket is gone', async () => {
    const { value, active } = await withFault(toxic('storage-1', 'reset_peer', { timeout: 0 }, { stream: 'upstream' }), async () => {
      const conn = await new Conn('storage-1').open('printf "PING\\n" >&3; read -t 3 -r reply <&3; echo "reply=[$reply]";');
      const log = await conn.waitLog(/reply=/, 5000);
      const gone = await until(() => conn.socket(), (s) => s === undefined, 2000);
      await conn.close();
      return { log, gone };
    });
    signatures.resetPeer = value.log.trim();
    expect(value.log).toMatch(/Connection reset by peer|reply=\[\]/);
    expect(value.gone).toBeUndefined();
    expect(active.effect?.confirmed).toBe(true);
  });

  test("slow_close (lost-fin-slow-close): the web waits ESTABLISHED like a lost FIN, but Toxiproxy sends no FIN: nothing is retransmitted", async () => {
    const { value, active } = await withFault(toxic('profile', 'slow_close', { delay: 60_000 }), async () => {
      const conn = await new Conn('profile').open('printf "GET profile:alice\\n" >&3; cat <&3 >/dev/null; echo EOF-SEEN;');
      await sleep(4000);
      const mine = await conn.socket();
      const peer = (await sockets(proxyNs)).find((s) => s.remote.ip === topo.web.ip && s.remote.port === mine?.local.port);
      const log = await conn.log();
      await conn.close();
      return { mine, peer, log };
    });
    signatures.slowClose = { web: value.mine, toxiproxy: value.peer };
    expect(value.mine).toMatchObject({ state: 'ESTABLISHED', txQueue: 0, rxQueue: 0, timer: TIMER.none });
    expect(value.log).not.toMatch(/EOF-SEEN/);
    // Go arms keepalive on accepted connections (timer 2); nothing is in flight to retransmit.
    expect(value.peer).toMatchObject({ state: 'ESTABLISHED', txQueue: 0, retransmits: 0 });
    expect([TIMER.none, TIMER.keepalive]).toContain(value.peer!.timer);
    expect(active.effect?.confirmed).toBe(true);
  });
});

describe('proof of effect', () => {
  test('a fault nothing passes through is not confirmed, and says so', async () => {
    const active = await synBlackhole('profile').inject(topo);
    await sleep(500);
    await active.heal();
    expect(active.effect?.confirmed).toBe(false);
    expect(active.effect?.evidence.join('\n')).toMatch(/0 packets, 0 bytes/);
    expect(active.effect?.evidence.join('\n')).toMatch(/no rule of the fault matched a packet/);
  });
});
