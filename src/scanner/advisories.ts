import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { ScanError } from './errors.ts';
import { compareVersions } from './version.ts';
import { SEVERITIES, type AdvisoryMatch, type Severity } from './types.ts';
import type { ProductInfo } from './banner.ts';

export interface VersionRange {
  equals?: string;
  /** Inclusive lower bound. */
  from?: string;
  /** Inclusive upper bound. */
  to?: string;
  /** Exclusive upper bound. */
  before?: string;
}

export interface Backport {
  distro: string;
  /** Distribution word in the banner comment ("Debian", "Ubuntu"). */
  suffix: string;
  /** First package revision carrying the fix, as it appears after "<suffix>-". */
  revision: string;
  /** Upstream version this backport applies to. */
  version: string;
}

export interface Advisory {
  id: string;
  product: string;
  affected: VersionRange[];
  cves: string[];
  knownExploited: boolean;
  published: string;
  severity: Severity;
  summary: string;
  confirm: string;
  backports?: Backport[];
}

export interface AdvisoryDb {
  file: string;
  date: string;
  advisories: Advisory[];
}

export const BUNDLED_ADVISORIES = fileURLToPath(new URL('./advisories.json', import.meta.url));

function bad(file: string, msg: string): never {
  throw new ScanError('ERR_SCAN_ADVISORIES', `${file}: ${msg}`);
}

function str(v: unknown, file: string, what: string): string {
  if (typeof v !== 'string' || v.length === 0) bad(file, `${what} must be a non-empty string`);
  return v;
}

/** Load and validate an advisories file (fail closed: a malformed entry rejects the whole file). */
export function loadAdvisories(file = BUNDLED_ADVISORIES): AdvisoryDb {
  let raw: unknown;
  try {
    raw = JSON.parse(readFileSync(file, 'utf8'));
  } catch (cause) {
    throw new ScanError('ERR_SCAN_ADVISORIES', `${file}: cannot read JSON`, { cause });
  }
  const o = raw as { schemaVersion?: unknown; date?: unknown; advisories?: unknown };
  if (o.schemaVersion !== 1) bad(file, 'schemaVersion must be 1');
  const date = str(o.date, file, 'date');
  if (!Array.isArray(o.advisories)) bad(file, 'advisories must be an array');
  const advisories = o.advisories.map((a: Record<string, unknown>, i: number): Advisory => {
    const where = `advisories[${i}]`;
    const id = str(a.id, file, `${where}.id`);
    if (!Array.isArray(a.affected) || a.affected.length === 0) bad(file, `${id}: affected must be a non-empty array`);
    for (const r of a.affected as VersionRange[]) {
      if (!r.equals && !r.from && !r.to && !r.before) bad(file, `${id}: empty version range`);
    }
    if (!Array.isArray(a.cves) || !a.cves.every((c) => typeof c === 'string' && /^CVE-\d{4}-\d{4,}$/.test(c))) bad(file, `${id}: cves must be CVE ids`);
    if (typeof a.knownExploited !== 'boolean') bad(file, `${id}: knownExploited must be boolean`);
    const severity = a.severity as Severity;
    if (!SEVERITIES.includes(severity)) bad(file, `${id}: bad severity`);
    return {
      id,
      product: str(a.product, file, `${id}.product`),
      affected: a.affected as VersionRange[],
      cves: a.cves as string[],
      knownExploited: a.knownExploited,
      published: str(a.published, file, `${id}.published`),
      severity,
      summary: str(a.summary, file, `${id}.summary`),
      confirm: str(a.confirm, file, `${id}.confirm`),
      ...(Array.isArray(a.backports) ? { backports: a.backports as Backport[] } : {}),
    };
  });
  return { file, date, advisories };
}

export function inRange(version: string, r: VersionRange): boolean {
  if (r.equals !== undefined) return compareVersions(version, r.equals) === 0;
  if (r.from !== undefined && compareVersions(version, r.from) < 0) return false;
  if (r.to !== undefined && compareVersions(version, r.to) > 0) return false;
  if (r.before !== undefined && compareVersions(version, r.before) >= 0) return false;
  return true;
}

export interface AdvisoryVerdict {
  matches: AdvisoryMatch[];
  /** Advisories whose range matched but a known distribution backport fixes them. */
  patchedBackports: string[];
}

/** Banner-based advisory lookup. Every match is potential; distribution suffixes are honoured. */
export function matchAdvisories(db: AdvisoryDb, info: ProductInfo | undefined): AdvisoryVerdict {
  const out: AdvisoryVerdict = { matches: [], patchedBackports: [] };
  if (!info?.version) return out;
  const version = info.version;
  for (const a of db.advisories) {
    if (a.product.toLowerCase() !== info.product.toLowerCase()) continue;
    if (!a.affected.some((r) => inRange(version, r))) continue;
    let distroNote: string | undefined;
    if (info.distro) {
      const m = /^([A-Za-z]+)-(\S+)/.exec(info.distro);
      const bp = m ? a.backports?.find((b) => b.suffix.toLowerCase() === m[1]!.toLowerCase() && compareVersions(b.version, version) === 0) : undefined;
      if (m && bp && compareVersions(m[2]!, bp.revision) >= 0) {
        out.patchedBackports.push(`${a.id} (${a.cves.join(', ') || 'no CVE'}): ${info.distro} is at or after the fixed ${bp.distro} package revision ${bp.revision}: patched backport`);
        continue;
      }
      distroNote = bp
        ? `distribution package ${info.distro} is older than the fixed ${bp.distro} revision ${bp.revision}`
        : `distribution build "${info.distro}": the package may carry a backported fix that the upstream version string does not show`;
    }
    out.matches.push({
      advisoryId: a.id,
      product: info.product,
      version,
      cves: a.cves,
      knownExploited: a.knownExploited,
      published: a.published,
      severity: a.severity,
      summary: a.summary,
      potential: true,
      confirm: a.confirm,
      ...(distroNote ? { distroNote } : {}),
    });
  }
  return out;
}
