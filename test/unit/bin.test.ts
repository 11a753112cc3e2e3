import { spawnSync } from 'node:child_process';
import { COMMANDS } from '../../harness/cli/commands';
import { BIN } from '../helpers/cli';

/** The real entry point (bin/faultline.js through tsx), as `npx faultline` runs it. */
function faultline(...args: string[]) {
  return spawnSync(process.execPath, [BIN, ...args], { encoding: 'utf8', timeout: 30_000 });
}

describe('bin/faultline.js', () => {
  test('every command of the catalogue loads and answers --help with its own help, exit 0', () => {
    for (const { name, help } of COMMANDS) {
      const r = faultline(name, '--help');
      expect({ name, status: r.status, stderr: r.stderr }).toEqual({ name, status: 0, stderr: '' });
      expect(r.stdout.trim()).toBe(help.trim());
      expect(r.stdout).toMatch(/usage/i);
    }
  });

  test('bad input: one line on stderr, exit 2, no stack trace', () => {
    const r = faultline('diagnose');
    expect(r.status).toBe(2);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    expect(r.stderr).toMatch(/^faultline diagnose: say which processes: --match REGEX/);
  });
});
