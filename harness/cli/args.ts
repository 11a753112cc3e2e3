import { parseArgs, type ParseArgsConfig } from 'node:util';
import { UsageError } from '../errors';

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

/** A positive integer flag, or a UsageError naming it. */
export function intFlag(command: string, flag: string, value: string | undefined, fallback: number, min = 1): number {
  if (value === undefined) return fallback;
  const n = Number(value);
  if (!Number.isInteger(n) || n < min) throw new UsageError(`faultline ${command}: ${flag} must be an integer >= ${min}, got "${value}"`);
  return n;
}
