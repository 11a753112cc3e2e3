import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { UsageError } from '../../harness/errors';
import { scenarioJsonSchemaText, validateScenario, validateScenarios } from '../../harness/scenario/schema';
import { SCENARIOS } from '../../scenarios';
import { pythonPoolLostFin } from '../../examples/python-pool/scenario';

const valid = {
  name: 'my-lost-fin',
  summary: 'profile FIN lost while alice reloads',
  shows: 'what happens to the pool',
  variants: { incident: { expected: 'hung', culprit: { service: 'profile', kind: 'silent-peer' } }, fixed: { expected: 'responsive' } },
  run: async () => undefined,
};

const KNOB = { name: 't', type: 'int', unit: 'ms', min: 0, max: 10, reaches: { kind: 'query', name: 't' }, summary: 'a timeout' };

function problem(value: unknown, variants: Array<'incident' | 'fixed'> = ['incident', 'fixed']): string {
  try {
    validateScenarios([value], variants, ['./x.ts']);
  } catch (e) {
    expect(e).toBeInstanceOf(UsageError);
    expect((e as Error).message).not.toContain('\n');
    return (e as Error).message;
  }
  throw new Error('expected the scenario to be refused');
}

describe('scenario schema', () => {
  test('every bundled scenario, the python-pool example and the README example pass', () => {
    expect(validateScenarios([...SCENARIOS, pythonPoolLostFin], ['incident', 'fixed'])).toHaveLength(SCENARIOS.length + 1);
    expect(validateScenario(valid)).toBe(valid); // the object itself, functions and RegExps intact
    // Old kind names stay valid expectations (aliases of what they became).
    for (const kind of ['half-open-read', 'stalled-write', 'unreachable-peer', 'peer-not-reading']) {
      expect(validateScenario({ ...valid, variants: { incident: { expected: 'hung', culprit: { service: 'profile', kind } } } })).toBeTruthy();
    }
    expect(validateScenario({ ...valid, workers: { comm: 'python3', match: /app\.py/ }, checksData: true, judge: () => 'hung', topology: (t: unknown) => t })).toBeTruthy();
  });

  test.each([
    ['a bad verdict', { ...valid, variants: { incident: { expected: 'banana' } } }, /variants\.incident\.expected: must be one of hung, responsive.*got "banana"/],
    ['an unknown variant', { ...valid, variants: { ...valid.variants, canary: { expected: 'hung' } } }, /variants\.canary: unknown field \(variants are incident and fixed\)/],
    ['no variants', { ...valid, variants: undefined }, /variants: is required/],
    ['empty variants', { ...valid, variants: {} }, /variants: needs at least one of incident, fixed/],
    ['a name with spaces', { ...valid, name: 'My Scenario' }, /scenario "My Scenario": name: must be 1-64 lower-case/],
    ['a name with a slash', { ...valid, name: '../etc' }, /name: must be 1-64/],
    ['a name too long', { ...valid, name: 'a'.repeat(65) }, /name: must be 1-64/],
    ['no run', { ...valid, run: undefined }, /run: is required and must be a function/],
    ['run not a function', { ...valid, run: 'go' }, /run: must be a function.*got "go"/],
    ['a misspelt field', { ...valid, varaints: {} }, /varaints: unknown field/],
    ['an empty summary', { ...valid, summary: '  ' }, /summary: must not be empty/],
    ['a culprit kind the diagnoser never names', { ...valid, variants: { incident: { expected: 'hung', culprit: { service: 'profile', kind: 'gremlins' } } } }, /culprit\.kind: must be one of lock-cycle, silent-peer/],
    ['a culprit without a service', { ...valid, variants: { incident: { expected: 'hung', culprit: { kind: 'slow-peer' } } } }, /culprit\.service: is required/],
    ['a negative recovery bound', { ...valid, variants: { incident: { expected: 'hung', recoversWithinMs: -5 } } }, /recoversWithinMs: must be more than 0 ms, got -5/],
    ['a recovery bound past a run', { ...valid, variants: { incident: { expected: 'hung', recoversWithinMs: 1e9 } } }, /recoversWithinMs: must be at most 240000 ms/],
    ['workers.match as a string', { ...valid, workers: { comm: 'php-fpm', match: 'php' } }, /workers\.match: must be a regular expression.*got "php"/],
    ['workers.comm longer than the kernel keeps', { ...valid, workers: { comm: 'a-very-long-process-name' } }, /workers\.comm: must be a process name.*1-15/],
    ['workers.comm with shell characters', { ...valid, workers: { comm: 'x;rm -rf' } }, /workers\.comm/],
    ['checksData not a boolean', { ...valid, checksData: 'yes' }, /checksData: must be true or false/],
    ['not an object', 'lost-fin', /scenario: must be an object .*got "lost-fin"/],
    ['a knob declared twice', { ...valid, knobs: [KNOB, KNOB] }, /knobs\.1\.name: knob "t" is declared twice/],
    ['a knob default out of its range', { ...valid, knobs: [{ ...KNOB, default: 11 }] }, /knobs\.0\.default: default of t=11: t must be an integer in ms from 0 to 10/],
    ['a knob whose min is above its max', { ...valid, knobs: [{ ...KNOB, min: 20 }] }, /knobs\.0: knob t: min must be <= max/],
    ['a culprit service no topology could have', { ...valid, variants: { incident: { expected: 'hung', culprit: { service: 'a'.repeat(40), kind: 'slow-peer' } } } }, /culprit\.service: must be a service name \(1-31 lower-case/],
  ])('refuses %s, naming the field', (_what, value, message) => {
    const msg = problem(value);
    expect(msg).toMatch(/^\.\/x\.ts: scenario/);
    expect(msg).toMatch(message);
  });

  test('duplicate names among the scenarios of a run', () => {
    const copy = { ...SCENARIOS[0] };
    expect(() => validateScenarios([SCENARIOS[0], copy], ['incident'], [undefined, './mine.ts'])).toThrow(
      /\.\/mine\.ts: scenario "lost-fin": name: "lost-fin" is already the name of another scenario in this run \(bundled\)/,
    );
  });

  test('a selected variant the scenario lacks', () => {
    const incidentOnly = { ...valid, variants: { incident: valid.variants.incident } };
    expect(problem(incidentOnly, ['fixed'])).toMatch(/variants\.fixed: the scenario has no fixed variant: add variants\.fixed, or run it with --variant incident/);
    expect(problem(incidentOnly, ['incident', 'fixed'])).toMatch(/variants\.fixed/);
    expect(validateScenarios([incidentOnly], ['incident'])).toHaveLength(1);
  });

  test('schema/scenario.schema.json is what `npm run schema` generates', () => {
    const committed = readFileSync(join(__dirname, '..', '..', 'schema', 'scenario.schema.json'), 'utf8');
    expect(committed).toBe(scenarioJsonSchemaText());
    const schema = JSON.parse(committed);
    expect(schema.required).toEqual(expect.arrayContaining(['name', 'summary', 'shows', 'variants', 'run']));
    expect(schema.properties.variants.properties.incident.properties.expected.enum).toContain('hung');
    expect(schema.additionalProperties).toBe(false);
  });
});
