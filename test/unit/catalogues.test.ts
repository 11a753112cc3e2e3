/**
 * The README and the code read the same catalogues: what the README says about images and
 * commands must match the lists the code runs on.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { COMMANDS } from '../../harness/cli/commands';
import { IMAGES, IMAGE_NAMES } from '../../harness/engine/image-catalogue';
import { README } from '../helpers/readme';

const readme = readFileSync(README, 'utf8');

/** The rows of the README's Images table: first cell (the image), second (where a registry answers). */
function imageRows(): Array<{ name: string; pulled: string }> {
  const section = readme.slice(readme.indexOf('\n## Images\n'), readme.indexOf('\n## ', readme.indexOf('\n## Images\n') + 1));
  return section
    .split('\n')
    .filter((l) => /^\| [a-z]/.test(l) && !l.startsWith('| image |'))
    .map((l) => l.split('|').map((c) => c.trim()))
    .map((cells) => ({ name: cells[1], pulled: cells[2] }));
}

describe('the image catalogue', () => {
  test('the README Images table has one row per image, and pulled ones name their reference', () => {
    const rows = imageRows();
    expect(rows.map((r) => r.name).sort()).toEqual([...IMAGE_NAMES].sort());
    for (const image of IMAGES) {
      const row = rows.find((r) => r.name === image.name)!;
      if (image.build === 'pulled') {
        expect(row.pulled).toContain(image.pull);
        expect(readme).toContain(image.overrideEnv);
      } else expect(row.pulled).toContain(`containers/${image.name}`);
    }
  });

  test('every image has its build context in containers/', () => {
    for (const image of IMAGES) {
      const dir = join(__dirname, '..', '..', 'containers', image.name);
      expect({ image: image.name, context: existsSync(dir) }).toEqual({ image: image.name, context: true });
      if (image.build === 'dockerfile' || image.build === 'node-server') expect(existsSync(join(dir, 'Dockerfile'))).toBe(true);
      if (image.build === 'node-server') expect(existsSync(join(dir, 'src', 'server.ts'))).toBe(true);
    }
  });
});

describe('the command catalogue', () => {
  test('every command has its own name and a help that starts with its usage', () => {
    expect(new Set(COMMANDS.map((c) => c.name)).size).toBe(COMMANDS.length);
    for (const c of COMMANDS) expect(c.help).toMatch(new RegExp(`^usage: faultline ${c.name}\\b`, 'i'));
  });

  test("the README's CLI synopsis has a line for every command", () => {
    for (const c of COMMANDS) expect(readme).toMatch(new RegExp(`^faultline ${c.name}\\b`, 'm'));
  });
});
