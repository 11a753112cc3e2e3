/**
 * From an incident to a regression test: writes a scenario file that reproduces a diagnosis on
 * faultline's topology, as `faultline diagnose --emit-scenario` and `faultline scenario from`
 * print it. What is carried over:
 * - the pool size (workers, capped so the scenario's reloads can still fill the pool);
 * - the lock: a kernel file lock (flock/POSIX: a PHP file session) -> the bundled Apache/PHP app,
 *   which holds its session flock across the upstream call; a polled lock kept in a cache
 *   (phpredis' session lock) -> the bundled nginx + PHP-FPM stack; no lock -> the Apache app with
 *   the lock released before the call;
 * - the culprit's kind, mapped to the fault that produces it (faultFor, in mapping.ts);
 * - the upstream, as a service named like the observed one, a bundled image standing in for it.
 * Each mapping was chosen from what the bundled scenarios measure (scenarios/*.ts); the file says
 * which one it used, so a user can change it. The mapping is in mapping.ts, the file's text in
 * templates.ts; this module is the entry (what the CLI imports).
 */
import { accessSync, constants, existsSync, statSync, writeFileSync } from 'node:fs';
import { basename, dirname, resolve } from 'node:path';
import { UsageError } from '../errors';
import { faultFor, lockShape, poolSize, serviceName, MAX_EMITTED_WORKERS, type LockShape, type Observed } from './mapping';
import { scenarioText } from './templates';

export { lockShape, poolSize, serviceName, MAX_EMITTED_WORKERS, type LockShape } from './mapping';

const camel = (s: string) => s.replace(/-([a-z0-9])/g, (_m, c: string) => c.toUpperCase());

export interface EmitMeta {
  /** What was observed, for the header: `diagnose --match apache2 on web-3 at …`. */
  observedOn: string;
  /** The command that wrote the file. */
  generator: string;
  /** The import specifier of faultline (default: the installed package). */
  from?: string;
}

export interface EmittedScenario {
  text: string;
  name: string;
  service: string;
  kind: string;
  lock: LockShape;
  workers: number;
}

export function emitScenario(diagnosis: unknown, meta: EmitMeta): EmittedScenario {
  const d = (typeof diagnosis === 'object' && diagnosis !== null ? diagnosis : {}) as Observed;
  const c = d.culprit;
  if (d.verdict !== 'stuck' || !c || typeof c.kind !== 'string') {
    throw new UsageError(`the diagnosis is ${d.verdict ?? 'not a diagnosis'}${d.verdict === 'stuck' ? ' without a culprit' : ''}: a scenario is emitted only for a stuck pool with a named culprit`);
  }
  const lock = lockShape(d);
  const plan = faultFor(c.kind, c.resource, lock);
  const observedService = c.resource?.service;
  const service = serviceName(observedService ?? undefined, lock === 'polled' ? ['redis', 'mariadb'] : []);
  const observedWorkers = poolSize(d);
  const workers = Math.max(2, Math.min(MAX_EMITTED_WORKERS, observedWorkers));
  const name = `incident-${service}-${c.kind}`.slice(0, 60).replace(/-+$/, '');
  const exportName = camel(name.replace(/^incident-/, 'incident-'));
  const from = meta.from ?? 'faultline';
  const peer = c.resource?.remote ? ` (${c.resource.remote})` : '';
  const text = scenarioText({ culprit: { ...c, kind: c.kind }, meta, from, lock, plan, observedService, peer, service, name, exportName, observedWorkers, workers });
  return { text, name, service, kind: c.kind, lock, workers };
}

/** Checks where a scenario will go before any work: a .ts file in a directory that exists. */
export function checkScenarioPath(file: string, flag: string): string {
  const path = resolve(file);
  if (!/\.ts$/.test(path)) throw new UsageError(`${flag} ${file}: must name a .ts file (faultline run loads it), e.g. ${flag} incident.ts`);
  const dir = dirname(path);
  try {
    if (!statSync(dir).isDirectory()) throw new Error('not a directory');
    accessSync(dir, constants.W_OK);
  } catch {
    throw new UsageError(`${flag} ${file}: directory ${dir} does not exist or is not writable: create it first`);
  }
  if (existsSync(path) && statSync(path).isDirectory()) throw new UsageError(`${flag} ${file}: is a directory: name a .ts file`);
  return path;
}

/** Writes the file (replacing one of the same name, as a compiler output would). */
export function writeScenarioFile(path: string, emitted: EmittedScenario): void {
  writeFileSync(path, emitted.text.replace('npx faultline run <this file>', `npx faultline run ${basename(path)}`));
}
