import { parseArgs, type ParseArgsConfig } from 'node:util';
import { closeSync, existsSync, openSync, statSync, unlinkSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { UsageError } from '../errors';
import { dockerOptions } from '../engine/docker';
import { IMAGE_OVERRIDE_ENV, officialRef, type PulledImage } from '../engine/images';

type Options = NonNullable<ParseArgsConfig['options']>;

/**
 * util.parseArgs with faultline's error contract: one line naming the flag and how to fix it.
 */
export function parseFlags<O extends Options>(command: string, args: string[], options: O) {
  try {
    return parseArgs({ args, options, allowPositionals: true, strict: true });
  } catch (e) {
    const msg = (e as Error).message;
    const unknown = /Unknown option '([^']+)'/.exec(msg);
    if (unknown) throw new UsageError(`faultline ${command}: unknown flag ${unknown[1]} (see \`faultline ${command} --help\`)`);
    const needsValue = /Option '(?:-\w, )?(--[\w-]+) <value>' argument missing/.exec(msg);
    if (needsValue) throw new UsageError(`faultline ${command}: ${needsValue[1]} needs a value (see \`faultline ${command} --help\`)`);
    throw new UsageError(`faultline ${command}: ${msg.split('\n')[0]}`);
  }
}

/** An integer flag within [min, max], or a UsageError naming it and the range. */
export function intFlag(command: string, flag: string, value: string | undefined, fallback: number, min = 1, max = Number.MAX_SAFE_INTEGER, why = ''): number {
  if (value === undefined) return fallback;
  const n = /^-?[0-9]{1,16}$/.test(value.trim()) ? Number(value) : NaN;
  if (!Number.isSafeInteger(n) || n < min || n > max) {
    const range = max === Number.MAX_SAFE_INTEGER ? `an integer >= ${min}` : `an integer from ${min} to ${max}`;
    throw new UsageError(`faultline ${command}: ${flag} must be ${range}, got "${value.length > 40 ? `${value.slice(0, 40)}…` : value}"${why}`);
  }
  return n;
}

/** No positional arguments: a stray word is a typo the user should hear about. */
export function noPositionals(command: string, positionals: string[]): void {
  if (positionals.length) {
    throw new UsageError(`faultline ${command}: unexpected argument "${positionals[0].slice(0, 60)}" (see \`faultline ${command} --help\`)`);
  }
}

/**
 * The environment a command that talks to the engine reads, checked before it connects:
 * DOCKER_HOST's syntax and the image overrides. Each throws a UsageError naming the variable.
 */
export function checkEngineEnv(env: NodeJS.ProcessEnv): void {
  dockerOptions(env);
  for (const name of Object.keys(IMAGE_OVERRIDE_ENV) as PulledImage[]) officialRef(name, env);
}

/**
 * A report path must be writable before the run starts (the report itself is written at the
 * end): opening it for append is the one test that answers for root, read-only mounts and /proc
 * alike. A file this creates is removed again; an existing one is left as it was.
 */
export function checkWritableFile(command: string, flag: string, file: string): void {
  if (file === '') throw new UsageError(`faultline ${command}: ${flag} needs a file path, e.g. ${flag} report.xml`);
  const path = resolve(file);
  const fix = `give ${flag} a file path in a folder you can write to`;
  if (existsSync(path) && statSync(path).isDirectory()) throw new UsageError(`faultline ${command}: ${flag} ${file} is a directory: ${fix}`);
  const folder = dirname(path);
  if (!existsSync(folder)) throw new UsageError(`faultline ${command}: ${flag} ${file}: the folder ${folder} does not exist: create it, or ${fix}`);
  const existed = existsSync(path);
  try {
    closeSync(openSync(path, 'a'));
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code ?? (e as Error).message;
    throw new UsageError(`faultline ${command}: ${flag} ${file} cannot be written (${code}): ${fix}`);
  }
  if (!existed) unlinkSync(path);
}
