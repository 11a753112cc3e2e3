import { request } from 'node:http';
import { clearTimeoutReal, monotonicMs, setTimeoutReal } from '../util/time';

export type Outcome = 'ok' | 'http-error' | 'timeout' | 'conn-error';

export interface RequestRecord {
  id: number;
  /** Probe that made it: health, profile, upload ... */
  kind: string;
  user?: string;
  variant?: string;
  /** Milliseconds since the history's origin (monotonic). */
  start: number;
  end: number;
  outcome: Outcome;
  status?: number;
  body?: string;
  error?: string;
  /** What the probe knows about the request (e.g. an upload's key and sha256), for checkers. */
  meta?: Record<string, string>;
}

export interface HttpCall {
  method?: 'GET' | 'POST' | 'PUT';
  url: string;
  headers?: Record<string, string>;
  body?: Buffer;
  /** Client-side deadline: the request is abandoned (socket closed) after this, like a browser. */
  deadlineMs: number;
  /** Keep at most this many bytes of the response body. */
  keepBody?: number;
}

export interface HttpResult {
  outcome: Outcome;
  status?: number;
  headers?: Record<string, string | string[] | undefined>;
  body: string;
  error?: string;
  ms: number;
}

/**
 * One HTTP request on its own connection (no keep-alive, no pooling: every request takes a
 * worker of its own, as with browsers behind KeepAlive Off), bounded by a deadline.
 */
export function httpCall(call: HttpCall): Promise<HttpResult> {
  const started = monotonicMs();
  return new Promise((resolve) => {
    let settled = false;
    const finish = (r: Omit<HttpResult, 'ms'>) => {
      if (settled) return;
      settled = true;
      clearTimeoutReal(timer);
      resolve({ ...r, ms: monotonicMs() - started });
    };
    const req = request(call.url, {
      method: call.method ?? 'GET',
      headers: { connection: 'close', ...(call.body ? { 'content-length': String(call.body.length) } : {}), ...call.headers },
      agent: false,
    });
    const timer = setTimeoutReal(() => {
      finish({ outcome: 'timeout', body: '', error: `no response within ${call.deadlineMs} ms` });
      req.destroy();
    }, call.deadlineMs);
    req.on('error', (e: NodeJS.ErrnoException) => finish({ outcome: 'conn-error', body: '', error: e.code ?? e.message }));
    req.on('response', (res) => {
      const chunks: Buffer[] = [];
      let size = 0;
      res.on('data', (c: Buffer) => {
        if (size < (call.keepBody ?? 4096)) chunks.push(c);
        size += c.length;
      });
      res.on('error', (e: NodeJS.ErrnoException) => finish({ outcome: 'conn-error', status: res.statusCode, body: '', error: e.code ?? e.message }));
      res.on('end', () => {
        const status = res.statusCode ?? 0;
        finish({
          outcome: status >= 200 && status < 400 ? 'ok' : 'http-error',
          status,
          headers: res.headers,
          body: Buffer.concat(chunks).toString('utf8').slice(0, call.keepBody ?? 4096),
        });
      });
    });
    req.end(call.body);
  });
}
