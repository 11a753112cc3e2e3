import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';

import { parseSeed, startStorageServer, type StartedStorageServer } from '../../containers/storage/src/server';

const sha256 = (data: Buffer | string) => crypto.createHash('sha256').update(data).digest('hex');

/** Sends `request`, half-closes if asked, and collects everything until the server closes. */
function exchangeUntilClose(port: number, request: Buffer | string, opts: { halfClose?: boolean } = {}): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    const socket = net.connect({ host: '127.0.0.1', port }, () => {
      socket.write(request);
      if (opts.halfClose) socket.end();
    });
    socket.on('data', (c: Buffer) => chunks.push(c));
    socket.on('error', reject);
    socket.on('close', () => resolve(Buffer.concat(chunks)));
  });
}

/** A client that keeps its connection open and reads reply lines. */
class LineClient {
  private buffered = '';
  private waiters: Array<() => void> = [];
  closed = false;

  private constructor(readonly socket: net.Socket) {
    socket.setEncoding('latin1');
    socket.on('data', (c: string) => {
      this.buffered += c;
      this.notify();
    });
    socket.on('close', () => {
      this.closed = true;
      this.notify();
    });
    socket.on('error', () => undefined);
  }

  static connect(port: number): Promise<LineClient> {
    return new Promise((resolve, reject) => {
      const socket = net.connect({ host: '127.0.0.1', port }, () => resolve(new LineClient(socket)));
      socket.once('error', reject);
    });
  }

  private notify() {
    const w = this.waiters;
    this.waiters = [];
    w.forEach((f) => f());
  }

  send(data: Buffer | string): void {
    this.socket.write(data);
  }

  /** Resolves with the next line, or undefined if the server closed first. */
  async line(): Promise<string | undefined> {
    for (;;) {
      const nl = this.buffered.indexOf('\n');
      if (nl >= 0) {
        const line = this.buffered.slice(0, nl);
        this.buffered = this.buffered.slice(nl + 1);
        return line;
      }
      if (this.closed) return undefined;
      await new Promise<void>((r) => this.waiters.push(r));
    }
  }

  /** Lines up to and including `END`. */
  async listing(): Promise<string[]> {
    const lines: string[] = [];
    for (;;) {
      const l = await this.line();
      if (l === undefined) throw new Error(`connection closed mid-LIST after ${JSON.stringify(lines)}`);
      if (l === 'END') return lines;
      lines.push(l);
    }
  }

  async waitClosed(): Promise<void> {
    while (!this.closed) await new Promise<void>((r) => this.waiters.push(r));
  }

  destroy(): void {
    this.socket.destroy();
  }
}

describe('storage node', () => {
  let dataDir: string;
  let server: StartedStorageServer;
  let logs: string[];

  beforeEach(async () => {
    dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'faultline-storage-'));
    logs = [];
    server = await startStorageServer({ port: 0, host: '127.0.0.1', dataDir, log: (l) => logs.push(l) });
  });

  afterEach(async () => {
    await server.close();
    fs.rmSync(dataDir, { recursive: true, force: true });
  });

  it('acknowledges a PUT with the sha256 of the bytes, and GET/STAT/LIST return them', async () => {
    const body = crypto.randomBytes(300_000); // several TCP chunks
    const client = await LineClient.connect(server.port);
    client.send(Buffer.concat([Buffer.from(`PUT blob:1 ${body.length}\n`), body]));
    expect(await client.line()).toBe(`OK ${sha256(body)}`);

    client.send('STAT blob:1\n');
    expect(await client.line()).toBe(`SIZE ${body.length} ${sha256(body)}`);

    client.send('PUT empty 0\nLIST\n'); // pipelined, and a zero-length object
    expect(await client.line()).toBe(`OK ${sha256('')}`);
    expect(await client.listing()).toEqual([`blob:1 ${body.length} ${sha256(body)}`, `empty 0 ${sha256('')}`]);
    client.destroy();

    const got = await exchangeUntilClose(server.port, 'GET blob:1\n');
    expect(sha256(got)).toBe(sha256(body));
    expect(got.length).toBe(body.length);
  });

  it('closes the connection after a GET (close-delimited), even if the client keeps it open', async () => {
    const put = await exchangeUntilClose(server.port, 'PUT k 5\nhello', { halfClose: true });
    expect(put.toString()).toBe(`OK ${sha256('hello')}\n`);

    const client = await LineClient.connect(server.port);
    client.send('GET k\nPING\n'); // the PING after a GET is never answered
    await client.waitClosed();
    expect(await client.line()).toBeUndefined(); // "hello" has no newline: no complete line
    expect((client as unknown as { buffered: string }).buffered).toBe('hello');
  });

  it('answers GET of a missing key by closing with no bytes, and STAT with ERR notfound', async () => {
    expect((await exchangeUntilClose(server.port, 'GET nope\n')).length).toBe(0);
    const client = await LineClient.connect(server.port);
    client.send('STAT nope\n');
    expect(await client.line()).toBe('ERR notfound');
    client.destroy();
  });

  it('stores nothing when the client goes away in the middle of a PUT body', async () => {
    const client = await LineClient.connect(server.port);
    client.send('PUT half 1000\n');
    client.send(Buffer.alloc(600, 0x61));
    // Make sure the server has the 600 bytes (temp file exists) before the client vanishes.
    await waitFor(() => fs.readdirSync(path.join(dataDir, 'tmp')).length === 1);
    client.socket.resetAndDestroy(); // RST, like a client killed mid-upload
    await waitFor(() => logs.some((l) => l.includes('PUT half aborted')));

    const check = await LineClient.connect(server.port);
    check.send('STAT half\nLIST\n');
    expect(await check.line()).toBe('ERR notfound');
    expect(await check.listing()).toEqual([]);
    check.destroy();
    expect(fs.readdirSync(path.join(dataDir, 'tmp'))).toEqual([]);
  });

  it('stores nothing when the client half-closes before sending the whole body', async () => {
    const reply = await exchangeUntilClose(server.port, 'PUT short 10\nabc', { halfClose: true });
    expect(reply.length).toBe(0); // never acknowledged
    const check = await LineClient.connect(server.port);
    check.send('STAT short\n');
    expect(await check.line()).toBe('ERR notfound');
    check.destroy();
  });

  it('keeps a previous version intact when an overwrite is cut short', async () => {
    const client = await LineClient.connect(server.port);
    client.send('PUT k 3\nold');
    expect(await client.line()).toBe(`OK ${sha256('old')}`);
    client.send('PUT k 100\nnew but short');
    await waitFor(() => fs.readdirSync(path.join(dataDir, 'tmp')).length === 1);
    client.destroy();
    await waitFor(() => logs.some((l) => l.includes('PUT k aborted')));
    expect((await exchangeUntilClose(server.port, 'GET k\n')).toString()).toBe('old');
  });

  it('answers PING, and ERR on bad commands and keys without dropping the connection', async () => {
    const client = await LineClient.connect(server.port);
    client.send('PING\r\n'); // a CRLF from a terminal is fine too
    expect(await client.line()).toBe('PONG');
    client.send('DELETE k\n');
    expect(await client.line()).toMatch(/^ERR unknown command/);
    client.send('STAT bad/key\n');
    expect(await client.line()).toBe('ERR bad key');
    client.send('STAT\n');
    expect(await client.line()).toBe('ERR usage: STAT <key>');
    client.send('LIST extra\n');
    expect(await client.line()).toBe('ERR usage: LIST');
    client.send('GET ../etc/passwd\n');
    expect(await client.line()).toBe('ERR bad key');
    client.send(`STAT ${'a'.repeat(201)}\n`);
    expect(await client.line()).toBe('ERR bad key');
    client.send('PING\n');
    expect(await client.line()).toBe('PONG');
    client.destroy();
  });

  it('closes the connection on a malformed PUT, whose body cannot be framed', async () => {
    for (const header of ['PUT k\n', 'PUT k -1\n', 'PUT k 12x\n', 'PUT bad/key 3\n', 'PUT k 99999999999\n']) {
      const reply = await exchangeUntilClose(server.port, `${header}abcPING\n`);
      expect(reply.toString()).toMatch(/^ERR [^\n]+\n$/);
    }
    const check = await LineClient.connect(server.port);
    check.send('LIST\n');
    expect(await check.listing()).toEqual([]);
    check.destroy();
  });

  it('closes a connection that sends an endless line', async () => {
    const reply = await exchangeUntilClose(server.port, 'x'.repeat(10_000));
    expect(reply.toString()).toBe('ERR line too long\n');
  });

  it('treats "." and ".." as ordinary keys, inside the store', async () => {
    const client = await LineClient.connect(server.port);
    client.send('PUT .. 2\nup');
    expect(await client.line()).toBe(`OK ${sha256('up')}`);
    client.send('LIST\n');
    expect(await client.listing()).toEqual([`.. 2 ${sha256('up')}`]);
    client.destroy();
    expect(fs.readdirSync(dataDir).sort()).toEqual(['objects', 'tmp']);
  });
});

describe('storage seed', () => {
  it('parses key=value;key=value and rejects bad entries by name', () => {
    expect(parseSeed('profile:alice={"name":"Alice"};profile:bob=Bob=B;;')).toEqual({
      'profile:alice': '{"name":"Alice"}',
      'profile:bob': 'Bob=B',
    });
    expect(() => parseSeed('novalue')).toThrow(/"novalue" must look like key=value/);
    expect(() => parseSeed('bad key=1')).toThrow(/key "bad key"/);
  });

  it('writes seeded objects before listening', async () => {
    const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'faultline-storage-'));
    const server = await startStorageServer({
      port: 0,
      host: '127.0.0.1',
      dataDir,
      seed: 'profile:alice=Alice in Wonderland;profile:bob=Bob',
    });
    try {
      expect((await exchangeUntilClose(server.port, 'GET profile:alice\n')).toString()).toBe('Alice in Wonderland');
      const client = await LineClient.connect(server.port);
      client.send('LIST\n');
      expect(await client.listing()).toEqual([
        `profile:alice 19 ${sha256('Alice in Wonderland')}`,
        `profile:bob 3 ${sha256('Bob')}`,
      ]);
      client.destroy();
    } finally {
      await server.close();
      fs.rmSync(dataDir, { recursive: true, force: true });
    }
  });
});

async function waitFor(cond: () => boolean, timeoutMs = 3000): Promise<void> {
  const start = Date.now();
  while (!cond()) {
    if (Date.now() - start > timeoutMs) throw new Error(`condition not met within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 10));
  }
}
