import { sleep } from '../util/time';
import type { History } from './history';
import { httpCall, type HttpResult, type Outcome } from './http';

export interface UserRequest {
  kind: string;
  path: string;
  method?: 'GET' | 'POST' | 'PUT';
  body?: Buffer;
  deadlineMs: number;
  headers?: Record<string, string>;
  /** Copied into the history record (an upload's key and sha256, for the data checker). */
  meta?: Record<string, string>;
}

/**
 * A simulated browser user: keeps its session cookie across requests (so retries contend on the
 * same PHP session lock, as a reload does), and records every request in the history.
 */
export class SimUser {
  private cookie?: string;

  constructor(
    readonly name: string,
    private readonly baseUrl: string,
    private readonly history: History,
    private readonly variant: string,
  ) {}

  get sessionCookie(): string | undefined {
    return this.cookie;
  }

  async request(req: UserRequest): Promise<HttpResult & { outcome: Outcome }> {
    const id = this.history.nextId();
    const start = this.history.now();
    const sep = req.path.includes('?') ? '&' : '?';
    const result = await httpCall({
      method: req.method,
      url: `${this.baseUrl}${req.path}${sep}variant=${this.variant}&user=${encodeURIComponent(this.name)}`,
      headers: { ...(this.cookie ? { cookie: this.cookie } : {}), 'x-faultline-variant': this.variant, ...req.headers },
      body: req.body,
      deadlineMs: req.deadlineMs,
    });
    const setCookie = result.headers?.['set-cookie'];
    if (setCookie) this.cookie = (Array.isArray(setCookie) ? setCookie : [setCookie]).map((c) => c.split(';')[0]).join('; ');
    this.history.requests.push({
      id,
      kind: req.kind,
      user: this.name,
      variant: this.variant,
      start,
      end: this.history.now(),
      outcome: result.outcome,
      status: result.status,
      body: result.body.slice(0, 2000),
      error: result.error,
      meta: req.meta,
    });
    return result;
  }
}

/** A background loop of requests, one every `everyMs` (not waiting for the previous one). */
export class LoadLoop {
  private stopped = false;
  private readonly inflight = new Set<Promise<unknown>>();
  private readonly done: Promise<void>;
  /** Cuts the wait for the next request short: a stop takes effect now, not one interval later. */
  private readonly wake = new AbortController();

  constructor(
    make: () => Promise<unknown>,
    everyMs: number,
    signal?: AbortSignal,
  ) {
    const onAbort = () => this.wake.abort();
    signal?.addEventListener('abort', onAbort, { once: true });
    this.done = (async () => {
      while (!this.stopped && !signal?.aborted) {
        const p = make().catch(() => undefined);
        this.inflight.add(p);
        void p.finally(() => this.inflight.delete(p));
        await sleep(everyMs, this.wake.signal).catch(() => undefined);
      }
      signal?.removeEventListener('abort', onAbort);
    })();
  }

  /**
   * Stops issuing requests, at once. Those in flight finish on their own (each is bounded by its
   * deadline): a phase that ends does not wait for them, `drain()` does.
   */
  async stop(): Promise<void> {
    this.stopped = true;
    this.wake.abort();
    await this.done;
  }

  /** Stops, and waits for the requests in flight. */
  async drain(): Promise<void> {
    await this.stop();
    await Promise.all([...this.inflight]);
  }
}
