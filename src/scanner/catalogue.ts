import { createRequire } from 'node:module';
import { CONTROLS, type ControlRefs } from './controls.ts';
import { FIXES } from './fixes.ts';
import { TITLES } from './titles.ts';
import { LAYERS, MODES, SEVERITIES, type Layer, type Mode, type Scheme, type Severity } from './types.ts';

const require = createRequire(import.meta.url);

interface RawCheck {
  n: number;
  id: string;
  probe: string;
  how: string;
  evidence: string;
  severity: string;
  mode: string[];
  mitigation: string;
}

export interface CheckMeta {
  n: number;
  id: string;
  /** Plain words a person can act on. */
  title: string;
  /** What the catalogue says is probed (e.g. "DH group1/1024-bit, group14-sha1 …"). */
  probe: string;
  how: string;
  evidenceKind: string;
  /** Base severity: the first severity word of the catalogue entry ("per CVE" → medium until a match decides). */
  severity: Severity;
  /** The catalogue's severity text as written (e.g. "medium (SSL: high)", "per CVE"). */
  severityText: string;
  modes: Mode[];
  layer: Layer;
  fix: string;
  protocols: Scheme[];
  /** PCI DSS v4.0.1, NIST SP 800-53 rev. 5 and CIS Controls v8 references. */
  controls: ControlRefs;
}

function protocolsFor(id: string): Scheme[] {
  if (id.startsWith('ftp.')) return ['ftp', 'ftps'];
  if (id.startsWith('tls.')) return ['ftp', 'ftps'];
  if (id.startsWith('ssh.')) return ['sftp'];
  return ['ftp', 'ftps', 'sftp'];
}

function parseSeverity(text: string): Severity {
  const first = text.trim().split(/\s+/)[0] as Severity;
  return (SEVERITIES as readonly string[]).includes(first) ? first : 'medium';
}

function load(): CheckMeta[] {
  const raw = require('./checks.json') as { checks: RawCheck[] };
  return raw.checks.map((c) => {
    if (!(LAYERS as readonly string[]).includes(c.mitigation)) throw new Error(`checks.json: bad mitigation for ${c.id}`);
    for (const m of c.mode) if (!(MODES as readonly string[]).includes(m)) throw new Error(`checks.json: bad mode for ${c.id}`);
    const fix = FIXES[c.id];
    if (!fix) throw new Error(`no fix text for check ${c.id}`);
    const title = TITLES[c.id];
    if (!title) throw new Error(`no title for check ${c.id}`);
    const controls = CONTROLS[c.id];
    if (!controls) throw new Error(`no control mapping for check ${c.id}`);
    return {
      n: c.n,
      id: c.id,
      title,
      probe: c.probe,
      controls,
      how: c.how,
      evidenceKind: c.evidence,
      severity: parseSeverity(c.severity),
      severityText: c.severity,
      modes: c.mode as Mode[],
      layer: c.mitigation as Layer,
      fix,
      protocols: protocolsFor(c.id),
    };
  });
}

/** The check catalogue, in catalogue order, keyed by id. */
export const CATALOGUE: readonly CheckMeta[] = load();
const BY_ID = new Map(CATALOGUE.map((c) => [c.id, c]));

export function getCheck(id: string): CheckMeta {
  const c = BY_ID.get(id);
  if (!c) throw new Error(`unknown check id ${id}`);
  return c;
}

/**
 * Modes that must be explicitly allowed before a check's probe runs. A check listing "passive" has a
 * passive part that always runs; its intrusive part (if any) is gated separately by the probe.
 */
export function gatingMode(meta: CheckMeta): Mode | undefined {
  if (meta.modes.includes('passive') || meta.modes.includes('active-safe')) return undefined;
  if (meta.modes.includes('writes')) return 'writes';
  if (meta.modes.includes('intrusive')) return 'intrusive';
  return undefined; // needs-credentials: gated on credentials, not on --allow
}
