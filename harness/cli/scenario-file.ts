import { existsSync, readFileSync, statSync } from 'node:fs';
import { relative, resolve } from 'node:path';
import { UsageError } from '../errors';
import { SCENARIOS } from '../../scenarios';

/** Bundled names and file paths, in order, with where each came from (file path or undefined). */
export function resolveScenarios(names: string[]): Array<{ scenario: unknown; source?: string }> {
  if (names.length === 0) return SCENARIOS.map((scenario) => ({ scenario }));
  const out: Array<{ scenario: unknown; source?: string }> = [];
  for (const name of names) {
    const bundled = SCENARIOS.find((s) => s.name === name);
    if (bundled) out.push({ scenario: bundled });
    else if (/\.(ts|js)$/.test(name)) out.push(...loadScenarioFile(name));
    else {
      throw new UsageError(
        `faultline run: unknown scenario "${name.slice(0, 60)}": valid scenarios are ${SCENARIOS.map((s) => s.name).join(', ')} (or a path to a .ts or .js file)`,
      );
    }
  }
  // The same object named twice (`run lost-fin lost-fin`, a file loaded twice) runs once.
  return out.filter((entry, i) => out.findIndex((other) => other.scenario === entry.scenario) === i);
}

/** A candidate scenario from a user's file, with where it came from (for messages). */
export interface LoadedScenario {
  scenario: unknown;
  source: string;
}

/**
 * Loads a user's scenario file (TypeScript through the bin's tsx hook, or JavaScript) and returns
 * what it exports that looks like a scenario; the schema judges them afterwards. Any failure to
 * load is one UsageError: the file, the first error's line:col, and the error, without a stack.
 */
export function loadScenarioFile(arg: string): LoadedScenario[] {
  const path = resolve(arg);
  if (!existsSync(path)) throw new UsageError(`faultline run: scenario file ${arg} does not exist`);
  const stat = statSync(path);
  if (stat.isDirectory()) throw new UsageError(`faultline run: ${arg} is a directory, not a scenario file: name a .ts or .js file that exports a scenario`);
  if (!stat.isFile()) throw new UsageError(`faultline run: ${arg} is not a regular file: name a .ts or .js file that exports a scenario`);
  let mod: unknown;
  try {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    mod = require(path);
  } catch (e) {
    throw new UsageError(`faultline run: ${describeLoadError(arg, path, e)}`);
  }
  const found = scenarioExports(mod);
  if (found.length === 0) {
    throw new UsageError(`faultline run: ${arg} exports no scenario: export an object with name, summary, shows, variants and run (e.g. \`export const myScenario: Scenario = {...}\`)`);
  }
  return found.map((scenario) => ({ scenario, source: arg }));
}

/** Exports that are meant as scenarios: objects with a `run` or `variants` (helpers are skipped). */
function scenarioExports(mod: unknown): unknown[] {
  const looksLikeScenario = (v: unknown) => typeof v === 'object' && v !== null && ('run' in v || 'variants' in v);
  if (looksLikeScenario(mod)) return [mod]; // module.exports = scenario
  if (typeof mod !== 'object' || mod === null) return [];
  return [...new Set(Object.values(mod).filter(looksLikeScenario))];
}

const firstLine = (s: string) => s.split('\n')[0].trim().slice(0, 300);

/** `file:line:col: what went wrong`, from esbuild's transform errors, a missing import or a throw. */
export function describeLoadError(arg: string, path: string, e: unknown): string {
  const err = e instanceof Error ? e : new Error(String(e));
  const shown = (file: string) => (file === path ? arg : relative(process.cwd(), file) || file);

  // esbuild (tsx): "Transform failed with 1 error:\n/abs/x.ts:4:1: ERROR: Expected ")" but found ";""
  const transform = /^(.+?):(\d+):(\d+): ERROR: (.+)$/m.exec(err.message);
  if (transform) return `${shown(transform[1])}:${transform[2]}:${transform[3]}: ${transform[4]} (the file does not compile)`;

  // An import the file names that does not resolve: point at the import itself.
  const code = (err as NodeJS.ErrnoException).code;
  if (code === 'MODULE_NOT_FOUND' || code === 'ERR_MODULE_NOT_FOUND') {
    const specifier = /Cannot find (?:module|package) '([^']+)'/.exec(err.message)?.[1];
    const at = specifier ? locate(path, specifier) : undefined;
    return `${arg}${at ?? ''}: ${firstLine(err.message)}${specifier && !specifier.startsWith('.') ? ' (is the package installed where the file is?)' : ''}`;
  }

  // V8's own SyntaxError (plain JavaScript, which tsx leaves alone): "file:line", the source
  // line, then a caret under the column.
  const v8Syntax = err instanceof SyntaxError ? /^(\/[^\n]+):(\d+)\n[^\n]*\n( *)\^/.exec(err.stack ?? '') : null;
  if (v8Syntax) return `${shown(v8Syntax[1])}:${v8Syntax[2]}:${v8Syntax[3].length + 1}: ${firstLine(err.message)} (the file does not compile)`;

  // A throw while the file ran: the first stack frame in the user's file, else in any file of theirs.
  const frames = [...(err.stack ?? '').matchAll(/^\s+at (?:.*\()?((?:\/|file:\/\/)[^():]+):(\d+):(\d+)\)?$/gm)]
    .map((m) => ({ file: m[1].replace(/^file:\/\//, ''), line: m[2], col: m[3] }))
    .filter((f) => !f.file.includes('/node_modules/'));
  const frame = frames.find((f) => f.file === path) ?? frames[0];
  const where = frame ? `${shown(frame.file)}:${frame.line}:${frame.col}` : arg;
  return `${where}: ${frame && frame.file !== path ? `${arg} failed to load: ` : ''}${err.name}: ${firstLine(err.message)}`;
}

/** `:line:col` of the first quoted occurrence of `specifier` in the file, if it is there. */
function locate(path: string, specifier: string): string | undefined {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch {
    return undefined;
  }
  const lines = text.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const col = lines[i].search(new RegExp(`['"\`]${specifier.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}['"\`]`));
    if (col >= 0) return `:${i + 1}:${col + 1}`;
  }
  return undefined;
}
