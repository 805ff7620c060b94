// The vocabulary of `portcullis doctor`: one line per finding, each with a severity and the fix.
// Severities decide the exit code (docs/doctor.md): any `problem` exits 2, else any `warning`
// exits 1, else 0; `info` and `not-checked` never change it.

export const DOCTOR_SEVERITIES = ['ok', 'info', 'not-checked', 'warning', 'problem'] as const;
export type DoctorSeverity = (typeof DOCTOR_SEVERITIES)[number];

/** The areas doctor looks at, in report order. */
export const DOCTOR_AREAS = ['runtime', 'dependencies', 'certificates', 'host-keys', 'permissions', 'disk', 'clock', 'store', 'configuration', 'data'] as const;
export type DoctorArea = (typeof DOCTOR_AREAS)[number];

export interface DoctorFinding {
  /** Stable check id, `doctor.<area>…` (a contract: docs/doctor.md lists them). */
  id: string;
  area: DoctorArea;
  severity: DoctorSeverity;
  /** What the line is about when a check has several (a package, a file, a filesystem, a setting). */
  subject?: string;
  /** One line for people. */
  summary: string;
  evidence: string[];
  /** What to do, in plain words (empty on `ok`). */
  fix: string;
}

export interface DoctorReport {
  schemaVersion: 1;
  tool: { name: 'portcullis-doctor'; version: string };
  generatedAt: string;
  host: string;
  node: string;
  /** The worst severity that changes the exit code: ok, warning or problem. */
  status: 'ok' | 'warning' | 'problem';
  exitCode: 0 | 1 | 2;
  data: { lifecycle: { file: string; date: string }; advisories: { file: string; date: string; records: number } };
  counts: Record<DoctorSeverity, number>;
  findings: DoctorFinding[];
}

/** The key a finding is recognised by from one run to the next (the daily run alerts on change). */
export function findingKey(f: Pick<DoctorFinding, 'id' | 'subject'>): string {
  return f.subject ? `${f.id} ${f.subject}` : f.id;
}
