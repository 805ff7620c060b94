// The runtime and dependency data behind the patching verdicts: Node.js release lines (end of
// life, newest release) and the newest version of each runtime dependency, bundled and dated;
// `portcullis posture --lifecycle FILE` loads a newer file. Validated, fail closed.
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { z } from 'zod';
import { PortcullisError } from '../errors/index.ts';

export const BUNDLED_LIFECYCLE = fileURLToPath(new URL('./lifecycle.json', import.meta.url));

const date = z.string().regex(/^\d{4}-\d{2}-\d{2}$/, 'must be a date YYYY-MM-DD');
const version = z.string().regex(/^\d+\.\d+\.\d+/, 'must be a version such as 1.2.3');

const lifecycleSchema = z.strictObject({
  date,
  source: z.string().optional(),
  node: z.record(
    z.string().regex(/^\d+$/),
    z.strictObject({
      eol: date,
      maintenanceFrom: date,
      latest: version,
      /** Releases of the line that fixed vulnerabilities (doctor: running below one is a problem). */
      securityReleases: z.array(z.strictObject({ version, date, cves: z.array(z.string().regex(/^CVE-\d{4}-\d{4,}$/, 'must be a CVE id')).default([]), summary: z.string().optional() })).optional(),
    }),
  ),
  dependencies: z.record(z.string().min(1), version),
  advisories: z.array(z.strictObject({ package: z.string().min(1), id: z.string().min(1), summary: z.string().min(1), fixedIn: version })),
});

export type Lifecycle = z.infer<typeof lifecycleSchema> & { file: string };

export function loadLifecycle(file = BUNDLED_LIFECYCLE): Lifecycle {
  let raw: unknown;
  try {
    raw = JSON.parse(readFileSync(file, 'utf8'));
  } catch (cause) {
    throw new PortcullisError('ERR_POSTURE_LIFECYCLE', `${file}: cannot read JSON`, { cause });
  }
  const parsed = lifecycleSchema.safeParse(raw);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    throw new PortcullisError('ERR_POSTURE_LIFECYCLE', `${file}: ${issue.path.join('.') || '(root)'} ${issue.message}`);
  }
  return { ...parsed.data, file };
}
