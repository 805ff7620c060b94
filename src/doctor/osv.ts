// Dependency advisories in OSV format (ossf.github.io/osv-schema), the format of osv.dev and of
// the GitHub advisory database: a new file is dropped in, never converted. `--advisories PATH`
// takes one OSV record, an array of them, an osv.dev answer ({ "vulns": [...] }) or a folder of
// OSV JSON files (an osv.dev npm export, a github/advisory-database checkout); records without an
// npm package are skipped. Version ranges are matched with the `semver` package. Validation is
// fail closed: a malformed npm record rejects the whole file, naming the record and the key.
import { readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import semver from 'semver';
import { z } from 'zod';
import { LIMITS } from '../config/limits.ts';
import { PortcullisError } from '../errors/index.ts';

export const BUNDLED_OSV = fileURLToPath(new URL('./advisories.osv.json', import.meta.url));

const event = z.union([
  z.strictObject({ introduced: z.string().min(1) }),
  z.strictObject({ fixed: z.string().min(1) }),
  z.strictObject({ last_affected: z.string().min(1) }),
  z.strictObject({ limit: z.string().min(1) }),
]);

const affectedSchema = z.object({
  package: z.object({ ecosystem: z.string().min(1), name: z.string().min(1) }),
  ranges: z.array(z.object({ type: z.enum(['SEMVER', 'ECOSYSTEM', 'GIT']), events: z.array(event).min(1) })).default([]),
  versions: z.array(z.string()).default([]),
  database_specific: z.record(z.string(), z.unknown()).optional(),
  ecosystem_specific: z.record(z.string(), z.unknown()).optional(),
});

/** Portcullis's own annotation of a record (database_specific.portcullis): what we know about reachability. */
const annotationSchema = z.strictObject({ reachable: z.boolean(), note: z.string().min(1) });

const recordSchema = z.object({
  id: z.string().min(1),
  modified: z.string().min(1),
  withdrawn: z.string().optional(),
  aliases: z.array(z.string()).default([]),
  summary: z.string().optional(),
  details: z.string().optional(),
  severity: z.array(z.object({ type: z.string(), score: z.string() })).default([]),
  affected: z.array(affectedSchema).default([]),
  references: z.array(z.object({ type: z.string(), url: z.string() })).default([]),
  database_specific: z.record(z.string(), z.unknown()).optional(),
});

export type OsvSeverity = 'low' | 'medium' | 'high' | 'critical' | 'unknown';

export interface NpmAdvisory {
  id: string;
  aliases: string[];
  summary: string;
  modified: string;
  severity: OsvSeverity;
  url?: string;
  reachability?: { reachable: boolean; note: string };
  /** Per npm package: semver ranges (one per affected interval) and explicit versions. */
  packages: { name: string; ranges: string[]; versions: string[] }[];
}

export interface AdvisorySet {
  file: string;
  /** The newest `modified` of any record: how fresh the data is. */
  date: string;
  /** Records read (npm or not). */
  records: number;
  advisories: NpmAdvisory[];
}

function bad(file: string, message: string): never {
  throw new PortcullisError('ERR_DOCTOR_ADVISORIES', `${file}: ${message}`);
}

/** GitHub's database_specific.severity, else a CVSS score given as a number; else unknown. */
function severityOf(r: z.infer<typeof recordSchema>): OsvSeverity {
  const gh = typeof r.database_specific?.severity === 'string' ? r.database_specific.severity.toUpperCase() : '';
  const table: Record<string, OsvSeverity> = { LOW: 'low', MODERATE: 'medium', MEDIUM: 'medium', HIGH: 'high', CRITICAL: 'critical' };
  if (table[gh]) return table[gh];
  for (const s of r.severity) {
    const n = Number(s.score);
    if (Number.isFinite(n)) return n >= 9 ? 'critical' : n >= 7 ? 'high' : n >= 4 ? 'medium' : 'low';
  }
  return 'unknown';
}

function version(v: string, file: string, where: string): string {
  if (v === '0') return '0.0.0';
  const ok = semver.valid(v);
  if (!ok) bad(file, `${where}: "${v}" is not a semantic version`);
  return ok;
}

/**
 * OSV events → semver range strings. The OSV rule: sorted by version, `introduced` opens an
 * affected interval, `fixed` closes it (exclusive), `last_affected` closes it (inclusive).
 */
export function rangesFromEvents(events: z.infer<typeof event>[], file = 'advisory', where = 'events'): string[] {
  const norm = events
    .filter((e) => !('limit' in e))
    .map((e) => {
      const [kind, v] = Object.entries(e)[0] as [string, string];
      return { kind, v: version(v, file, where) };
    })
    .sort((a, b) => semver.compare(a.v, b.v) || (a.kind === 'introduced' ? -1 : 1));
  const out: string[] = [];
  let open: string | null = null;
  for (const e of norm) {
    if (e.kind === 'introduced') {
      open ??= e.v;
    } else if (open !== null) {
      out.push(`>=${open} ${e.kind === 'fixed' ? '<' : '<='}${e.v}`);
      open = null;
    }
  }
  if (open !== null) out.push(`>=${open}`);
  return out;
}

function parseRecord(raw: unknown, file: string, where: string): NpmAdvisory | null | 'other' {
  const id = typeof (raw as { id?: unknown })?.id === 'string' ? (raw as { id: string }).id : where;
  const parsed = recordSchema.safeParse(raw);
  if (!parsed.success) {
    // A record about another ecosystem is not ours to judge: only npm records must be well formed.
    const affected = (raw as { affected?: unknown })?.affected;
    if (Array.isArray(affected) && !affected.some((a: { package?: { ecosystem?: unknown } }) => a?.package?.ecosystem === 'npm')) return 'other';
    const issue = parsed.error.issues[0]!;
    bad(file, `${id}: ${issue.path.join('.') || '(record)'} ${issue.message}`);
  }
  const r = parsed.data;
  const npm = r.affected.filter((a) => a.package.ecosystem === 'npm');
  if (npm.length === 0) return 'other';
  if (r.withdrawn) return null;
  const note = r.database_specific?.portcullis;
  let reachability: NpmAdvisory['reachability'];
  if (note !== undefined) {
    const a = annotationSchema.safeParse(note);
    if (!a.success) bad(file, `${id}: database_specific.portcullis must be { reachable: boolean, note: string }`);
    reachability = a.data;
  }
  const packages = npm.map((a, i) => ({
    name: a.package.name,
    ranges: a.ranges.filter((g) => g.type !== 'GIT').flatMap((g, j) => rangesFromEvents(g.events, file, `${id}: affected[${i}].ranges[${j}]`)),
    versions: a.versions,
  }));
  const advisoryUrl = r.references.find((x) => x.type === 'ADVISORY')?.url ?? r.references[0]?.url;
  return {
    id: r.id,
    aliases: r.aliases,
    summary: (r.summary ?? r.details ?? r.id).split('\n')[0]!.slice(0, 300),
    modified: r.modified,
    severity: severityOf(r),
    ...(advisoryUrl && { url: advisoryUrl }),
    ...(reachability && { reachability }),
    packages,
  };
}

function readJson(file: string): unknown {
  try {
    if (statSync(file).size > LIMITS.doctor.advisoryMaxFileBytes * 64) bad(file, 'too large');
    return JSON.parse(readFileSync(file, 'utf8'));
  } catch (cause) {
    if (cause instanceof PortcullisError) throw cause;
    throw new PortcullisError('ERR_DOCTOR_ADVISORIES', `${file}: cannot read JSON`, { cause });
  }
}

function jsonFiles(dir: string): string[] {
  const out: string[] = [];
  const walk = (d: string): void => {
    for (const e of readdirSync(d, { withFileTypes: true }).sort((a, b) => a.name.localeCompare(b.name))) {
      if (e.name.startsWith('.')) continue;
      const p = path.join(d, e.name);
      if (e.isDirectory()) walk(p);
      else if (e.isFile() && e.name.endsWith('.json')) {
        if (out.length >= LIMITS.doctor.advisoryMaxFiles) bad(dir, `more than ${LIMITS.doctor.advisoryMaxFiles} JSON files`);
        out.push(p);
      }
    }
  };
  walk(dir);
  return out;
}

/** Loads an advisories file or folder (see the head of this file). */
export function loadOsv(file = BUNDLED_OSV): AdvisorySet {
  let isDir: boolean;
  try {
    isDir = statSync(file).isDirectory();
  } catch (cause) {
    throw new PortcullisError('ERR_DOCTOR_ADVISORIES', `${file}: ${(cause as NodeJS.ErrnoException).code ?? 'cannot read'}`, { cause });
  }
  const raws: { raw: unknown; from: string }[] = [];
  if (isDir) {
    for (const f of jsonFiles(file)) {
      if (statSync(f).size > LIMITS.doctor.advisoryMaxFileBytes) bad(f, `larger than ${LIMITS.doctor.advisoryMaxFileBytes} bytes`);
      raws.push({ raw: readJson(f), from: f });
    }
  } else {
    const doc = readJson(file);
    const list = Array.isArray(doc) ? doc : Array.isArray((doc as { vulns?: unknown })?.vulns) ? (doc as { vulns: unknown[] }).vulns : [doc];
    list.forEach((raw) => raws.push({ raw, from: file }));
  }
  const advisories: NpmAdvisory[] = [];
  let date = '';
  raws.forEach(({ raw, from }, i) => {
    if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) bad(from, `record ${i}: not an OSV object`);
    const a = parseRecord(raw, from, `record ${i}`);
    const modified = (raw as { modified?: unknown }).modified;
    if (typeof modified === 'string' && modified > date) date = modified;
    if (a && a !== 'other') advisories.push(a);
  });
  return { file, date: date.slice(0, 10) || 'undated', records: raws.length, advisories };
}

export interface InstalledPackage {
  name: string;
  version: string;
  /** Where it is installed (`node_modules/a/node_modules/b`). */
  location: string;
  /** Only needed to build and test (npm marks it `dev`): never loaded by the server. */
  dev: boolean;
  /** Packages that depend on it (by name), for "pulled in by". */
  dependents: string[];
}

export interface AdvisoryHit {
  advisory: NpmAdvisory;
  pkg: InstalledPackage;
  /** The lowest version outside every affected range at or above the installed one, if any. */
  fixedIn: string | null;
}

/** The advisories that apply to the installed tree. */
export function matchInstalled(set: AdvisorySet, installed: InstalledPackage[]): AdvisoryHit[] {
  const byName = new Map<string, InstalledPackage[]>();
  for (const p of installed) byName.set(p.name, [...(byName.get(p.name) ?? []), p]);
  const hits: AdvisoryHit[] = [];
  for (const a of set.advisories) {
    for (const target of a.packages) {
      for (const pkg of byName.get(target.name) ?? []) {
        const v = semver.valid(pkg.version);
        if (!v) continue;
        const hit = target.versions.includes(v) || target.ranges.some((r) => semver.satisfies(v, r, { includePrerelease: true }));
        if (!hit) continue;
        const fixes = target.ranges
          .filter((r) => semver.satisfies(v, r, { includePrerelease: true }))
          .map((r) => /<=?(\S+)$/.exec(r))
          .map((m) => (m && !m[0].startsWith('<=') ? m[1]! : null));
        const fixedIn = fixes.length > 0 && fixes.every((f) => f !== null) ? fixes.sort(semver.rcompare)[0]! : null;
        hits.push({ advisory: a, pkg, fixedIn });
      }
    }
  }
  return hits;
}
