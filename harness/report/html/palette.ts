/** Colours shared by every chart of a report, so one outcome or verdict reads the same everywhere. */
export const OUTCOME_COLORS: Record<string, string> = {
  ok: '#2f9e44',
  'http-error': '#f08c00',
  timeout: '#e03131',
  'conn-error': '#862e9c',
};

export const VERDICT_COLORS: Record<string, string> = {
  responsive: '#2f9e44',
  degraded: '#f08c00',
  hung: '#e03131',
  'data-misreported': '#862e9c',
  'data-lost': '#5c0f0f',
};

export const FAULT_FILL = '#e03131';
export const DIAGNOSIS_COLOR = '#5f3dc4';
export const RECOVERY_COLOR = '#1971c2';
export const P99_COLOR = '#212529';
