import { readFileSync } from 'node:fs';
import { join } from 'node:path';

/**
 * The README's examples and commands, as test/integration/package.test.ts runs them.
 *
 * Convention: every ```ts block follows a line `<!-- example: KIND [FILE] -->`:
 *   jest            a jest test file, run in a CommonJS project with ts-jest's default settings
 *   module          an ES module (top-level await allowed), compiled by tsc and run by node in an
 *                   ESM project ("type": "module")
 *   scenario FILE   saved as FILE in the CommonJS project; the README's commands that name it run it
 *   typecheck       compiled only (it needs files this README does not show)
 * A block without the comment, or with another KIND, is an error: a new example says how it runs.
 */
export const README = join(__dirname, '..', '..', 'README.md');

export type ExampleKind = 'jest' | 'module' | 'scenario' | 'typecheck';
export interface ReadmeExample {
  kind: ExampleKind;
  /** For `scenario`: the file name the README's commands use. */
  file?: string;
  /** 1-based line of the opening fence, for messages. */
  line: number;
  code: string;
}

const KINDS: readonly ExampleKind[] = ['jest', 'module', 'scenario', 'typecheck'];
const MARKER = /^<!-- example: (\S+)(?: (\S+))? -->$/;

export function readmeExamples(text: string = readFileSync(README, 'utf8')): ReadmeExample[] {
  const lines = text.split('\n');
  const examples: ReadmeExample[] = [];
  for (let i = 0; i < lines.length; i++) {
    if (!/^\s*```(ts|typescript)\s*$/.test(lines[i])) continue;
    const marker = MARKER.exec(lines[i - 1]?.trim() ?? '');
    const kind = marker?.[1] as ExampleKind | undefined;
    if (!kind || !KINDS.includes(kind)) {
      throw new Error(`README.md:${i + 1}: a \`\`\`ts block needs \`<!-- example: ${KINDS.join('|')} -->\` on the line before it`);
    }
    if (kind === 'scenario' && !marker?.[2]) throw new Error(`README.md:${i}: \`example: scenario\` needs a file name`);
    const end = lines.findIndex((l, j) => j > i && /^\s*```\s*$/.test(l));
    const indent = /^\s*/.exec(lines[i])![0].length;
    examples.push({ kind, file: marker?.[2], line: i + 1, code: lines.slice(i + 1, end).map((l) => l.slice(indent)).join('\n') + '\n' });
    i = end;
  }
  return examples;
}

/**
 * Every faultline command the README shows, as a user types it: `npx faultline ...` lines in code
 * blocks (after `$ ` or `run: `, without a trailing `# comment`), and inline `faultline ...` or
 * `npx faultline ...` spans (with `npx` added). The synopsis lines of the CLI section
 * (`faultline run [scenario...] ...`) are grammar, not commands, and are left out.
 */
export function readmeCommands(text: string = readFileSync(README, 'utf8')): string[] {
  const found = new Set<string>();
  let inBlock = false;
  for (const line of text.split('\n')) {
    if (/^\s*```/.test(line)) {
      inBlock = !inBlock;
      continue;
    }
    if (inBlock) {
      const m = /^\s*(?:\$ |- run: )?(npx faultline\b[^#]*)/.exec(line);
      if (m) found.add(m[1].trim());
    } else {
      for (const span of line.matchAll(/`((?:npx )?faultline [^`]+)`/g)) {
        if (!/[[\]|()<>]|\.\.\./.test(span[1])) found.add(span[1].startsWith('npx ') ? span[1] : `npx ${span[1]}`);
      }
    }
  }
  return [...found];
}
