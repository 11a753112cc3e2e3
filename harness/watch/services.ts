/**
 * `--services FILE` for watch: the diagnoser's one parser of the shared format
 * (`{ "NAME": "HOST:PORT" | ["HOST:PORT", ...] }`, harness/diagnose/services.ts), with its errors
 * turned into one-line usage errors that name the flag and the file.
 */
import { readFileSync } from 'node:fs';
import { UsageError } from '../errors';
import type { ServiceRegistry } from '../diagnose';
import { parseServicesJson as parseRegistry, ServiceSpecError } from '../diagnose/services';

export function parseServicesJson(text: string, where: string): ServiceRegistry {
  try {
    return parseRegistry(text);
  } catch (e) {
    if (e instanceof ServiceSpecError) throw new UsageError(`${where}: ${e.message}`);
    throw e;
  }
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
