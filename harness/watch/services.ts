/**
 * `--services FILE`: names for upstream addresses on a host that is not a faultline topology, as
 * the shared contract spells it: JSON `{ "NAME": "HOST:PORT" | ["HOST:PORT", ...] }`. The
 * diagnoser then reports a culprit's socket by service name (`upstream profile`), and watch labels
 * its waiting-workers metric with it.
 */
import { readFileSync } from 'node:fs';
import { UsageError } from '../errors';
import type { ServiceRegistry } from '../diagnose';

const ADDRESS = /^(\[[0-9a-fA-F:.]+\]|[A-Za-z0-9.-]+):([0-9]{1,5})$/;
/** A registry of thousands of names is a pasted inventory, not a pool's upstreams. */
const MAX_SERVICES = 1000;

export function parseServicesJson(text: string, where: string): ServiceRegistry {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (e) {
    throw new UsageError(`${where}: not JSON (${(e as Error).message.split('\n')[0]}): write { "NAME": "HOST:PORT" | ["HOST:PORT", ...] }`);
  }
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) {
    throw new UsageError(`${where}: must be a JSON object { "NAME": "HOST:PORT" | ["HOST:PORT", ...] }`);
  }
  const entries = Object.entries(raw as Record<string, unknown>);
  if (entries.length > MAX_SERVICES) throw new UsageError(`${where}: names ${entries.length} services: give at most ${MAX_SERVICES}`);
  const services = entries.map(([name, value]) => {
    if (!/^[A-Za-z0-9][A-Za-z0-9_.-]{0,62}$/.test(name)) {
      throw new UsageError(`${where}: service name ${JSON.stringify(name.slice(0, 60))} must be 1-63 letters, digits, _ . - (e.g. "profile")`);
    }
    const list = Array.isArray(value) ? value : [value];
    if (list.length === 0) throw new UsageError(`${where}: service "${name}" lists no address: give "HOST:PORT"`);
    const addresses = list.map((a) => {
      const m = typeof a === 'string' ? ADDRESS.exec(a.trim()) : null;
      if (!m || Number(m[2]) < 1 || Number(m[2]) > 65535) {
        throw new UsageError(`${where}: service "${name}": address ${JSON.stringify(a)} must be "HOST:PORT" with a port from 1 to 65535 (e.g. "10.0.0.5:6379")`);
      }
      return { host: (m[1] as string).replace(/^\[|\]$/g, ''), port: Number(m[2]) };
    });
    return { name, addresses };
  });
  return { services };
}

export function readServicesFile(path: string, flag = '--services'): ServiceRegistry {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (e) {
    throw new UsageError(`${flag} ${path}: cannot read it (${(e as NodeJS.ErrnoException).code ?? (e as Error).message}): name a readable JSON file`);
  }
  return parseServicesJson(text, `${flag} ${path}`);
}
