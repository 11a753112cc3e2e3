import { PassThrough } from 'node:stream';
import type { CliIO } from '../../harness/cli/io';

/** A CliIO that records what a command printed. */
export function captureIO(env: NodeJS.ProcessEnv = process.env): CliIO & { out(): string; err(): string } {
  const stdout = new PassThrough();
  const stderr = new PassThrough();
  let out = '';
  let err = '';
  stdout.on('data', (c) => (out += c));
  stderr.on('data', (c) => (err += c));
  return { stdout, stderr, env, signal: new AbortController().signal, out: () => out, err: () => err };
}
