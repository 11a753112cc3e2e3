/**
 * What a diagnosis named, reduced to what a scenario judges (kind, service, pid and the chain the
 * culprit heads), and the one comparison of that against what a scenario expects. The result
 * builder (result.ts) and the jest matcher `toNameCulprit` (harness/jest/matchers.ts) both judge
 * through `compareCulprit`, so a run and a test can never disagree on what "named the culprit"
 * means. Pure functions over the diagnosis JSON (harness/diagnose/README.md, "JSON").
 */
import { kindMatches } from '../diagnose/kinds';
import type { CulpritSummary, ExpectedChain } from './types';

interface LinkJson {
  lock?: { type?: string };
  holder?: number;
  waiters?: number[];
  inferred?: string;
}
interface ChainJson {
  root?: number;
  kind?: string;
  culprit?: boolean;
  waiters?: number[];
  links?: LinkJson[];
  resource?: { service?: string };
}
interface DiagnosisJson {
  culprit?: { pid?: number; kind?: string; resource?: { service?: string }; waiters?: number[] } | null;
  chains?: ChainJson[];
}

function chainSummary(chain: ChainJson | undefined, waiters: number[] | undefined): CulpritSummary['chain'] {
  // The lock the root holds is the first link (links go from the root outward).
  const first = chain?.links?.[0];
  return {
    lock: first?.lock?.type,
    waiters: (waiters ?? chain?.waiters ?? []).length,
    inferred: (chain?.links ?? []).some((l) => typeof l.inferred === 'string'),
  };
}

/** The culprit a diagnosis named, with the chain it heads; null when it named none. */
export function culpritOf(json: unknown): CulpritSummary | null {
  const d = (json ?? {}) as DiagnosisJson;
  const c = d.culprit;
  if (!c || typeof c.kind !== 'string') return null;
  const chain = d.chains?.find((ch) => ch.culprit === true && ch.root === c.pid);
  return { kind: c.kind, service: c.resource?.service, pid: c.pid, chain: chainSummary(chain, c.waiters) };
}

/**
 * The second plausible culprit: the next chain the diagnosis marked as able to be a culprit
 * (`culprit: true`, idle chains never are) after the one it named. A reader checking a wrong
 * culprit sees at once whether the right one was the runner-up.
 */
export function secondCulpritOf(json: unknown): CulpritSummary | undefined {
  const d = (json ?? {}) as DiagnosisJson;
  const named = d.culprit?.pid;
  const next = d.chains?.find((ch) => ch.culprit === true && ch.root !== named && typeof ch.kind === 'string');
  if (!next) return undefined;
  return { kind: next.kind as string, service: next.resource?.service, pid: next.root, chain: chainSummary(next, undefined) };
}

export function describeCulprit(c: CulpritSummary): string {
  const chain = c.chain;
  const parts = [chain?.lock ? `${chain.inferred ? 'inferred ' : ''}${chain.lock} lock` : '', chain?.waiters ? `${chain.waiters} waiters` : ''].filter(Boolean);
  return `${c.kind} on ${c.service ?? 'an unnamed endpoint'} (pid ${c.pid ?? '?'}${parts.length ? `; ${parts.join(', ')}` : ''})`;
}

/** What may be expected of a culprit: every field optional here (the matcher takes any subset). */
export interface CulpritExpectation {
  kind?: string;
  service?: string;
  chain?: ExpectedChain;
}

export function describeExpectation(e: CulpritExpectation): string {
  const parts = [`${e.kind ?? 'any kind'} on ${e.service ?? 'any service'}`];
  const ch = e.chain;
  if (ch?.lock !== undefined) parts.push(`${ch.inferred === true ? 'inferred ' : ''}${ch.lock} lock`);
  else if (ch?.inferred !== undefined) parts.push(ch.inferred ? 'an inferred link' : 'a kernel lock link');
  if (ch?.minWaiters !== undefined) parts.push(`at least ${ch.minWaiters} waiters`);
  return parts.join(', ');
}

/**
 * Whether a named kind is the expected one. One place for it: where the diagnoser's kind table
 * accepts old names as aliases (harness/diagnose/kinds.ts), this is where they are honoured.
 */
function sameKind(expected: string, named: string): boolean {
  return kindMatches(expected, named);
}

/**
 * Why `named` is not the expected culprit, one sentence per field that differs; empty when it
 * is. Fields the expectation leaves out are not compared.
 */
export function compareCulprit(expected: CulpritExpectation, named: CulpritSummary | null): string[] {
  if (!named) return [`diagnosis named no culprit (expected ${describeExpectation(expected)})`];
  const out: string[] = [];
  if ((expected.kind !== undefined && !sameKind(expected.kind, named.kind)) || (expected.service !== undefined && named.service !== expected.service)) {
    out.push(`diagnosis named ${named.kind} on ${named.service ?? 'unknown service'}, expected ${expected.kind ?? 'any kind'} on ${expected.service ?? 'any service'}`);
  }
  const want = expected.chain;
  const got = named.chain ?? { waiters: 0, inferred: false };
  if (want?.lock !== undefined && got.lock !== want.lock) {
    out.push(`the culprit's chain has ${got.lock ? `a ${got.lock} lock` : 'no lock'}, expected a ${want.lock} lock`);
  }
  if (want?.inferred !== undefined && got.inferred !== want.inferred) {
    out.push(want.inferred ? "the culprit's chain link is a kernel lock, expected an inferred link" : "the culprit's chain link is inferred, expected a kernel lock");
  }
  if (want?.minWaiters !== undefined && got.waiters < want.minWaiters) {
    out.push(`the culprit's chain has ${got.waiters} waiters, expected at least ${want.minWaiters}`);
  }
  return out;
}
