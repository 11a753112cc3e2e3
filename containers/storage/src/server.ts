/**
 * faultline storage node: a line-based TCP object store that acknowledges a PUT only once the
 * bytes are durable (temp file, fsync, rename, fsync of the directory).
 *
 * Only Node builtins, and nothing newer than Node 18 (Debian bookworm's `nodejs`): the image
 * build transpiles this file to CommonJS `server.js` with `typescript.transpileModule`.
 *
 * Protocol (one connection may carry many commands; a GET ends it):
 *   PUT <key> <len>\n<len bytes>  -> OK <sha256hex>\n          (after the bytes are durable)
 *   GET <key>\n                   -> the raw bytes, then close (missing key: close, no bytes)
 *   STAT <key>\n                  -> SIZE <len> <sha256hex>\n | ERR notfound\n
 *   LIST\n                        -> <key> <len> <sha256hex>\n ... END\n
 *   PING\n                        -> PONG\n
 *   anything else                 -> ERR <reason>\n
 * Keys match [A-Za-z0-9._:-]{1,200}. A PUT whose connection ends before <len> bytes arrived
 * stores nothing. A malformed PUT line closes the connection (the body length is unknown, so
 * the rest of the stream cannot be framed); other errors leave the connection open.
 */
import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import * as fsp from 'node:fs/promises';
import * as net from 'node:net';
import * as path from 'node:path';

export const KEY_PATTERN = /^[A-Za-z0-9._:-]{1,200}$/;
/** Largest accepted PUT body. Uploads in scenarios are tens of MB at most. */
export const MAX_OBJECT_BYTES = 1024 * 1024 * 1024;
/** A command line longer than this (without a newline) is garbage: answer ERR and close. */
const MAX_LINE_BYTES = 4096;
/** Stop reading from a client while this much of its data waits to be processed. */
const HIGH_WATER_BYTES = 1024 * 1024;
/** A GET is close-delimited; a client that never closes its side is dropped after this. */
const GET_LINGER_MS = 60_000;

export interface StorageServerOptions {
  port: number;
  dataDir: string;
  /** Listen address; default all interfaces. */
  host?: string;
  /** Name used in log lines (STORAGE_NAME). */
  name?: string;
  /** Objects written before listening: `key=value;key=value` or a record. */
  seed?: string | Record<string, string>;
  /** Log sink; default none (the CLI passes console.log). */
  log?: (line: string) => void;
}

export interface StartedStorageServer {
  port: number;
  close(): Promise<void>;
}

export interface StoredObject {
  key: string;
  size: number;
  sha256: string;
}

/** Parses `key=value;key=value`. Empty entries are skipped; a bad key throws, naming it. */
export function parseSeed(seed: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const entry of seed.split(';')) {
    if (entry.trim() === '') continue;
    const eq = entry.indexOf('=');
    if (eq < 0) throw new Error(`STORAGE_SEED: entry "${entry}" must look like key=value`);
    const key = entry.slice(0, eq);
    if (!KEY_PATTERN.test(key)) throw new Error(`STORAGE_SEED: key "${key}" must match ${KEY_PATTERN.source}`);
    out[key] = entry.slice(eq + 1);
  }
  return out;
}

/**
 * The on-disk store. Objects live in `<dataDir>/objects/o.<key>` (the prefix keeps keys such as
 * "." and ".." harmless); uploads in progress live in `<dataDir>/tmp/`, on the same filesystem
 * so the final rename is atomic.
 */
class ObjectStore {
  readonly objectsDir: string;
  readonly tmpDir: string;
  /** sha256 by key, valid while the file's inode/size/mtime are unchanged. */
  private readonly digests = new Map<string, { ino: number; size: number; mtimeMs: number; sha256: string }>();
  private tmpCounter = 0;

  constructor(dataDir: string) {
    this.objectsDir = path.join(dataDir, 'objects');
    this.tmpDir = path.join(dataDir, 'tmp');
  }

  async init(): Promise<void> {
    await fsp.mkdir(this.objectsDir, { recursive: true });
    await fsp.mkdir(this.tmpDir, { recursive: true });
    // Leftovers of uploads interrupted by a crash were never acknowledged: drop them.
    for (const name of await fsp.readdir(this.tmpDir)) await fsp.rm(path.join(this.tmpDir, name), { force: true });
  }

  objectPath(key: string): string {
    return path.join(this.objectsDir, `o.${key}`);
  }

  newTempPath(key: string): string {
    this.tmpCounter += 1;
    return path.join(this.tmpDir, `${process.pid}.${this.tmpCounter}.${key}`);
  }

  /** Makes a fully written, fsynced temp file the object `key`, durably. */
  async commit(tmpPath: string, key: string): Promise<void> {
    await fsp.rename(tmpPath, this.objectPath(key));
    // The rename is durable only once the directory entry is on disk.
    const dir = await fsp.open(this.objectsDir, 'r');
    try {
      await dir.sync();
    } finally {
      await dir.close();
    }
  }

  async put(key: string, data: Buffer): Promise<string> {
    const tmp = this.newTempPath(key);
    const fh = await fsp.open(tmp, 'w', 0o644);
    try {
      await fh.writeFile(data);
      await fh.sync();
    } finally {
      await fh.close();
    }
    await this.commit(tmp, key);
    return sha256Hex(data);
  }

  async stat(key: string): Promise<StoredObject | undefined> {
    const file = this.objectPath(key);
    let st: fs.Stats;
    try {
      st = await fsp.stat(file);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw e;
    }
    const cached = this.digests.get(key);
    if (cached && cached.ino === st.ino && cached.size === st.size && cached.mtimeMs === st.mtimeMs) {
      return { key, size: st.size, sha256: cached.sha256 };
    }
    // Hash what is on disk, not what we meant to write: LIST is how scenarios check that
    // every acknowledged upload is stored intact.
    let sha256: string;
    try {
      sha256 = await hashFile(file);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw e;
    }
    this.digests.set(key, { ino: st.ino, size: st.size, mtimeMs: st.mtimeMs, sha256 });
    return { key, size: st.size, sha256 };
  }

  async list(): Promise<StoredObject[]> {
    const names = (await fsp.readdir(this.objectsDir)).filter((n) => n.startsWith('o.')).sort();
    const out: StoredObject[] = [];
    for (const name of names) {
      const obj = await this.stat(name.slice(2));
      if (obj) out.push(obj);
    }
    return out;
  }
}

function sha256Hex(data: Buffer): string {
  return crypto.createHash('sha256').update(data).digest('hex');
}

function hashFile(file: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const hash = crypto.createHash('sha256');
    fs.createReadStream(file)
      .on('error', reject)
      .on('data', (chunk) => hash.update(chunk))
      .on('end', () => resolve(hash.digest('hex')));
  });
}

/** A PUT body being received: streamed to a temp file and hashed as it arrives. */
interface Upload {
  key: string;
  expected: number;
  received: number;
  tmpPath: string;
  file: fsp.FileHandle;
  hash: crypto.Hash;
}

/**
 * One client connection. Incoming chunks are queued and processed strictly in order by a
 * single async pump, so pipelined commands and PUT bodies that share a chunk are framed right
 * and replies go out in command order.
 */
class Connection {
  private readonly queue: Buffer[] = [];
  private queuedBytes = 0;
  private pumping = false;
  private dirty = false;
  private upload: Upload | undefined;
  /** The client sent FIN, or the socket closed/errored. */
  private ended = false;
  /** No further commands are processed (GET sent, framing lost, or the socket is gone). */
  private done = false;
  private readonly label: string;

  constructor(
    private readonly socket: net.Socket,
    private readonly store: ObjectStore,
    private readonly log: (line: string) => void,
  ) {
    this.label = `${socket.remoteAddress ?? '?'}:${socket.remotePort ?? '?'}`;
    socket.on('data', (chunk: Buffer) => {
      if (this.done) return; // after a GET: input is read and dropped until the client closes
      this.queue.push(chunk);
      this.queuedBytes += chunk.length;
      // Back-pressure: a slow disk becomes a full TCP window for the client, not our memory.
      if (this.queuedBytes > HIGH_WATER_BYTES) socket.pause();
      this.wake();
    });
    socket.on('end', () => {
      this.ended = true;
      this.wake();
    });
    socket.on('error', (err: NodeJS.ErrnoException) => {
      this.log(`conn ${this.label}: ${err.code ?? err.message}`);
    });
    socket.on('close', () => {
      this.ended = true;
      this.done = true;
      this.wake();
    });
  }

  /** Schedules the pump; events only ever call this, so no wake-up is lost while it runs. */
  private wake(): void {
    this.dirty = true;
    if (!this.pumping) void this.pump();
  }

  private async pump(): Promise<void> {
    this.pumping = true;
    try {
      while (this.dirty) {
        this.dirty = false;
        while (await this.step()) {
          // keep going until the queue needs more input
        }
        if (this.queuedBytes <= HIGH_WATER_BYTES && this.socket.isPaused() && !this.socket.destroyed) {
          this.socket.resume();
        }
        if (this.ended) await this.finishAfterEnd();
      }
    } catch (e) {
      this.log(`conn ${this.label}: internal error: ${(e as Error).stack ?? String(e)}`);
      await this.abortUpload('internal error').catch(() => undefined);
      this.socket.destroy();
    } finally {
      this.pumping = false;
    }
  }

  /** Processes one unit of work (a command line or a body chunk); false when it needs more input. */
  private async step(): Promise<boolean> {
    if (this.socket.destroyed && !this.ended) return false;
    if (this.upload) return this.stepUpload(this.upload);
    if (this.done) return false;
    const line = this.takeLine();
    if (line === undefined) {
      if (this.queuedBytes > MAX_LINE_BYTES) {
        this.failFraming('line too long');
      }
      return false;
    }
    await this.command(line);
    return true;
  }

  private async stepUpload(up: Upload): Promise<boolean> {
    if (up.received < up.expected) {
      const chunk = this.takeSome(up.expected - up.received);
      if (!chunk) {
        if (this.ended) await this.abortUpload(`connection ended after ${up.received}/${up.expected} bytes`);
        return false;
      }
      up.hash.update(chunk);
      await writeAll(up.file, chunk);
      up.received += chunk.length;
      return true;
    }
    // Every byte is here: make it durable, then (and only then) acknowledge.
    this.upload = undefined;
    await up.file.sync();
    await up.file.close();
    await this.store.commit(up.tmpPath, up.key);
    const sha = up.hash.digest('hex');
    this.log(`PUT ${up.key} ${up.expected} ${sha} from ${this.label}`);
    this.reply(`OK ${sha}\n`);
    return true;
  }

  private async finishAfterEnd(): Promise<void> {
    if (this.upload) {
      await this.abortUpload(`connection ended after ${this.upload.received}/${this.upload.expected} bytes`);
    }
    if (!this.done) {
      // The client half-closed after its last command: answer what we had, then close.
      this.done = true;
      if (!this.socket.destroyed) this.socket.end();
    }
  }

  private async abortUpload(reason: string): Promise<void> {
    const up = this.upload;
    if (!up) return;
    this.upload = undefined;
    this.log(`PUT ${up.key} aborted (${reason}) from ${this.label}: nothing stored`);
    await up.file.close().catch(() => undefined);
    await fsp.rm(up.tmpPath, { force: true });
  }

  private async command(line: string): Promise<void> {
    const parts = line.split(' ');
    const verb = parts[0];
    switch (verb) {
      case 'PING':
        return this.reply('PONG\n');
      case 'PUT':
        return this.startPut(parts);
      case 'GET':
        return this.get(parts);
      case 'STAT': {
        const key = this.keyArg(parts);
        if (key === undefined) return;
        const obj = await this.store.stat(key);
        return this.reply(obj ? `SIZE ${obj.size} ${obj.sha256}\n` : 'ERR notfound\n');
      }
      case 'LIST': {
        if (parts.length !== 1) return this.reply('ERR usage: LIST\n');
        const objs = await this.store.list();
        return this.reply(objs.map((o) => `${o.key} ${o.size} ${o.sha256}\n`).join('') + 'END\n');
      }
      case '':
        return this.reply('ERR empty command\n');
      default:
        return this.reply(`ERR unknown command ${JSON.stringify(verb.slice(0, 32))}\n`);
    }
  }

  private keyArg(parts: string[]): string | undefined {
    if (parts.length !== 2) {
      this.reply(`ERR usage: ${parts[0]} <key>\n`);
      return undefined;
    }
    if (!KEY_PATTERN.test(parts[1])) {
      this.reply('ERR bad key\n');
      return undefined;
    }
    return parts[1];
  }

  private async startPut(parts: string[]): Promise<void> {
    // The body length is unknown unless the header parses: any error here loses the framing.
    if (parts.length !== 3) return this.failFraming('usage: PUT <key> <len>');
    const [, key, lenText] = parts;
    if (!KEY_PATTERN.test(key)) return this.failFraming('bad key');
    if (!/^[0-9]{1,12}$/.test(lenText)) return this.failFraming('bad length');
    const expected = Number(lenText);
    if (expected > MAX_OBJECT_BYTES) return this.failFraming(`too large (max ${MAX_OBJECT_BYTES})`);
    const tmpPath = this.store.newTempPath(key);
    const file = await fsp.open(tmpPath, 'w', 0o644);
    this.upload = { key, expected, received: 0, tmpPath, file, hash: crypto.createHash('sha256') };
  }

  private async get(parts: string[]): Promise<void> {
    const key = this.keyArg(parts);
    if (key === undefined) return;
    this.done = true;
    this.dropQueued();
    // Close-delimited, like the incident's backend: the reader knows it has everything when
    // it sees EOF. A missing key is a close with no bytes (STAT tells missing from empty).
    let stream: fs.ReadStream | undefined;
    try {
      const fh = await fsp.open(this.store.objectPath(key), 'r');
      stream = fh.createReadStream();
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
    }
    const lingerTimer = () => {
      const t = setTimeout(() => this.socket.destroy(), GET_LINGER_MS);
      t.unref();
      this.socket.once('close', () => clearTimeout(t));
    };
    if (!stream) {
      this.log(`GET ${key} notfound from ${this.label}`);
      this.socket.end();
      lingerTimer();
      return;
    }
    this.log(`GET ${key} from ${this.label}`);
    stream.on('error', (err) => {
      this.log(`GET ${key}: read error ${err.message}`);
      this.socket.destroy();
    });
    stream.pipe(this.socket);
    stream.on('end', lingerTimer);
  }

  private failFraming(reason: string): void {
    this.reply(`ERR ${reason}\n`);
    this.done = true;
    this.dropQueued();
    this.socket.end();
  }

  private reply(text: string): void {
    if (!this.socket.destroyed && this.socket.writable) this.socket.write(text);
  }

  private dropQueued(): void {
    this.queue.length = 0;
    this.queuedBytes = 0;
  }

  /** Removes and returns the next line (without "\n", and without a trailing "\r"). */
  private takeLine(): string | undefined {
    let scanned = 0;
    for (let i = 0; i < this.queue.length; i++) {
      const nl = this.queue[i].indexOf(0x0a);
      if (nl >= 0) {
        const bytes = this.take(scanned + nl + 1);
        if (!bytes) return undefined;
        let line = bytes.subarray(0, bytes.length - 1).toString('latin1');
        if (line.endsWith('\r')) line = line.slice(0, -1);
        return line;
      }
      scanned += this.queue[i].length;
    }
    return undefined;
  }

  /** Removes exactly `n` bytes from the front of the queue (the caller knows they are there). */
  private take(n: number): Buffer | undefined {
    if (n <= 0 || n > this.queuedBytes) return undefined;
    const parts: Buffer[] = [];
    let got = 0;
    while (got < n) {
      const part = this.takeSome(n - got);
      if (!part) break;
      parts.push(part);
      got += part.length;
    }
    return parts.length === 1 ? parts[0] : Buffer.concat(parts, got);
  }

  /** Removes the first queued chunk, or its first `max` bytes. */
  private takeSome(max: number): Buffer | undefined {
    const head = this.queue[0];
    if (!head || max <= 0) return undefined;
    if (head.length <= max) {
      this.queue.shift();
      this.queuedBytes -= head.length;
      return head;
    }
    this.queue[0] = head.subarray(max);
    this.queuedBytes -= max;
    return head.subarray(0, max);
  }
}

async function writeAll(file: fsp.FileHandle, data: Buffer): Promise<void> {
  let offset = 0;
  while (offset < data.length) {
    const { bytesWritten } = await file.write(data, offset, data.length - offset);
    offset += bytesWritten;
  }
}

export async function startStorageServer(options: StorageServerOptions): Promise<StartedStorageServer> {
  const log = options.log ?? (() => undefined);
  const prefix = options.name ? `[${options.name}] ` : '';
  const say = (line: string) => log(prefix + line);
  const store = new ObjectStore(options.dataDir);
  await store.init();

  const seed = typeof options.seed === 'string' ? parseSeed(options.seed) : (options.seed ?? {});
  for (const [key, value] of Object.entries(seed)) {
    if (!KEY_PATTERN.test(key)) throw new Error(`seed key "${key}" must match ${KEY_PATTERN.source}`);
    const sha = await store.put(key, Buffer.from(value, 'utf8'));
    say(`seeded ${key} ${Buffer.byteLength(value)} ${sha}`);
  }

  const sockets = new Set<net.Socket>();
  // allowHalfOpen: a client may send "PUT ...body" and then FIN; it still gets its OK.
  const server = net.createServer({ allowHalfOpen: true }, (socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    new Connection(socket, store, say);
  });

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port, options.host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const address = server.address() as net.AddressInfo;
  say(`listening on ${address.address}:${address.port} dir=${options.dataDir}`);

  let closing: Promise<void> | undefined;
  return {
    port: address.port,
    close() {
      closing ??= new Promise<void>((resolve) => {
        server.close(() => resolve());
        for (const s of sockets) s.destroy();
      });
      return closing;
    },
  };
}

/** Entry point in the container: configuration from the environment, logs on stdout. */
async function main(env: NodeJS.ProcessEnv): Promise<void> {
  const portText = env.STORAGE_PORT ?? '9000';
  const port = Number(portText);
  if (!Number.isInteger(port) || port < 0 || port > 65535) {
    throw new Error(`STORAGE_PORT must be a TCP port, got "${portText}"`);
  }
  const server = await startStorageServer({
    port,
    dataDir: env.STORAGE_DIR ?? '/data',
    name: env.STORAGE_NAME ?? 'storage',
    seed: env.STORAGE_SEED,
    log: (line) => console.log(`${new Date().toISOString()} ${line}`),
  });
  // PID 1 in a container gets no default signal handling: stop on TERM/INT ourselves.
  const stop = () => {
    void server.close().then(() => process.exit(0));
    setTimeout(() => process.exit(0), 2000).unref();
  };
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
}

if (require.main === module) {
  main(process.env).catch((e: unknown) => {
    console.error(`storage: ${(e as Error).message}`);
    process.exit(1);
  });
}
