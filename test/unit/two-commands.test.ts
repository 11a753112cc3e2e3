import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

/**
 * The README's two commands are what a fresh machine runs: each is an npm script that prepares
 * the machine (scripts/prepare.sh) before its real work, and .ci/run runs exactly the README's
 * test command.
 */
const REPO = join(__dirname, '..', '..');
const readme = readFileSync(join(REPO, 'README.md'), 'utf8');
const scripts = (JSON.parse(readFileSync(join(REPO, 'package.json'), 'utf8')) as { scripts: Record<string, string> }).scripts;

function twoCommands(): string[] {
  const section = readme.slice(readme.indexOf('## The two commands'));
  const block = /```sh\n([\s\S]*?)```/.exec(section)![1];
  return block
    .split('\n')
    .map((l) => l.replace(/#.*/, '').trim())
    .filter(Boolean);
}

test('the README shows two commands, each an npm script that prepares the machine first', () => {
  const commands = twoCommands();
  expect(commands).toHaveLength(2);
  for (const command of commands) {
    const name = command === 'npm test' ? 'test' : /^npm run (\S+)$/.exec(command)?.[1];
    expect({ command, script: name && scripts[name]?.split(' && ')[0] }).toEqual({ command, script: expect.stringMatching(/^bash scripts\/prepare\.sh (library|test)$/) });
  }
});

test('.ci/run runs exactly the README test command, after the same preparation', () => {
  const ci = readFileSync(join(REPO, '.ci', 'run'), 'utf8').split('\n').map((l) => l.trim());
  const test = twoCommands().find((c) => c.startsWith('npm test'))!;
  expect(ci).toContain(test);
  expect(ci).toContain('bash scripts/prepare.sh test');
});

test('the preparation scripts parse', () => {
  for (const f of ['prepare.sh', 'ensure-docker.sh', 'ensure-host-tools.sh']) execFileSync('bash', ['-n', join(REPO, 'scripts', f)]);
});

// Needs root to become another user; CI (.ci/run) runs as root. Elsewhere it says so, loudly.
const asNobody = process.getuid?.() === 0 ? test : test.skip;
if (process.getuid?.() !== 0) console.warn('two-commands.test.ts: not root, the without-root check of scripts/prepare.sh is skipped');

asNobody('without root, the preparation stops with one line saying what to do', () => {
  const r = (() => {
    try {
      execFileSync('su', ['nobody', '-s', '/bin/bash', '-c', `bash ${join(REPO, 'scripts', 'prepare.sh')} library`], { stdio: ['ignore', 'pipe', 'pipe'], env: { PATH: process.env.PATH } });
      return { code: 0, stderr: '' };
    } catch (e) {
      const err = e as { status: number; stderr: Buffer };
      return { code: err.status, stderr: err.stderr.toString() };
    }
  })();
  expect(r.code).toBe(1);
  expect(r.stderr.trim().split('\n')).toEqual([expect.stringMatching(/not root.*(sudo|group)/)]);
});
