import { faultlineMatchers } from '../../harness/jest/matchers';
import { resultWith } from '../helpers/results';

expect.extend(faultlineMatchers);

const base = resultWith();

describe('faultline jest matchers', () => {
  test('toStayResponsive checks p99 and the error rate', () => {
    expect(base).toStayResponsive({ p99Ms: 100 });
    expect(base).not.toStayResponsive({ p99Ms: 10 });
    const someErrors = { ...base, health: { ...base.health, errors: 5 } };
    expect(someErrors).toStayResponsive({ p99Ms: 100, errorRate: 0.1 });
    expect(someErrors).not.toStayResponsive({ p99Ms: 100, errorRate: 0.05 });
    expect(() => expect(someErrors).toStayResponsive({ p99Ms: 100 })).toThrow(/observed p99 40 ms, 5\/50 errors/);
  });

  test('toNameCulprit compares kind and service of the diagnosis', () => {
    const hung = { ...base, diagnosis: { verdict: 'stuck', culprit: { pid: 17, kind: 'peer-not-reading', resource: { service: 'storage-1' } } } };
    expect(hung).toNameCulprit({ service: 'storage-1', kind: 'peer-not-reading' });
    expect(hung).not.toNameCulprit({ service: 'storage-2' });
    expect(() => expect(hung).toNameCulprit({ kind: 'silent-peer' })).toThrow(/it named peer-not-reading on storage-1 \(pid 17\)/);
    expect(() => expect(base).toNameCulprit({ kind: 'peer-not-reading' })).toThrow(/no diagnosis/);
  });

  test('toNameCulprit accepts the old kind names for what they became', () => {
    const named = (kind: string) => ({ ...base, diagnosis: { verdict: 'stuck', culprit: { pid: 17, kind, resource: { service: 'storage-1' } } } });
    expect(named('peer-not-reading')).toNameCulprit({ kind: 'stalled-write' });
    expect(named('unreachable-peer')).toNameCulprit({ kind: 'stalled-write' });
    expect(named('silent-peer')).not.toNameCulprit({ kind: 'stalled-write' });
    expect(named('silent-peer')).toNameCulprit({ kind: 'half-open-read' });
    expect(named('unreachable-peer')).not.toNameCulprit({ kind: 'half-open-read' });
  });

  test('toLoseNoData needs a data check with nothing lost or misreported', () => {
    expect({ ...base, data: { acknowledged: 4, lost: 0, misreported: 0 } }).toLoseNoData();
    expect(() => expect({ ...base, data: { acknowledged: 4, lost: 1, misreported: 1, problems: ['k1: acknowledged, held by 0 of 1'] } }).toLoseNoData()).toThrow(
      /4 acknowledged, 1 lost, 1 misreported\n {2}k1: acknowledged/,
    );
    expect(() => expect(base).toLoseNoData()).toThrow(/no data check/);
  });
});
