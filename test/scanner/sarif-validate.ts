// Focused structural validator for the SARIF 2.1.0 fields we emit and the ones the spec requires.
// (No official schema file is available from the npm registry without a new dependency, so this
// checks the required properties of sarifLog, run, tool/toolComponent, reportingDescriptor, result,
// message, location/physicalLocation/artifactLocation and notification per the OASIS 2.1.0 spec.)

import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { Ajv2020, type ValidateFunction } from 'ajv/dist/2020.js';

type J = Record<string, unknown>;

const LEVELS = new Set(['none', 'note', 'warning', 'error']);

export function validateSarif(doc: unknown): string[] {
  const errs: string[] = [];
  const obj = (v: unknown, where: string): J | undefined => {
    if (typeof v !== 'object' || v === null || Array.isArray(v)) {
      errs.push(`${where}: must be an object`);
      return undefined;
    }
    return v as J;
  };
  const str = (v: unknown, where: string): void => {
    if (typeof v !== 'string' || v.length === 0) errs.push(`${where}: must be a non-empty string`);
  };
  const message = (v: unknown, where: string): void => {
    const m = obj(v, where);
    if (m && typeof m.text !== 'string' && typeof m.id !== 'string') errs.push(`${where}: message needs text or id`);
  };
  const log = obj(doc, 'sarifLog');
  if (!log) return errs;
  if (log.version !== '2.1.0') errs.push('sarifLog.version must be "2.1.0"');
  if (log.$schema !== undefined) str(log.$schema, 'sarifLog.$schema');
  if (!Array.isArray(log.runs)) {
    errs.push('sarifLog.runs must be an array');
    return errs;
  }
  log.runs.forEach((r, ri) => {
    const run = obj(r, `runs[${ri}]`);
    if (!run) return;
    const tool = obj(run.tool, `runs[${ri}].tool`);
    const driver = tool && obj(tool.driver, `runs[${ri}].tool.driver`);
    if (!driver) return;
    str(driver.name, `runs[${ri}].tool.driver.name`);
    const rules = (driver.rules ?? []) as unknown[];
    if (!Array.isArray(rules)) errs.push('driver.rules must be an array');
    const ids = new Set<string>();
    rules.forEach((x, i) => {
      const rule = obj(x, `rules[${i}]`);
      if (!rule) return;
      str(rule.id, `rules[${i}].id`);
      if (ids.has(rule.id as string)) errs.push(`rules[${i}].id duplicated`);
      ids.add(rule.id as string);
      if (rule.shortDescription !== undefined) message(rule.shortDescription, `rules[${i}].shortDescription`);
      const dc = rule.defaultConfiguration as J | undefined;
      if (dc?.level !== undefined && !LEVELS.has(dc.level as string)) errs.push(`rules[${i}].defaultConfiguration.level invalid`);
    });
    const results = run.results;
    if (results !== undefined && !Array.isArray(results)) errs.push(`runs[${ri}].results must be an array`);
    ((results ?? []) as unknown[]).forEach((x, i) => {
      const res = obj(x, `results[${i}]`);
      if (!res) return;
      message(res.message, `results[${i}].message`);
      if (res.ruleId === undefined && res.rule === undefined) errs.push(`results[${i}]: ruleId or rule required`);
      if (res.ruleId !== undefined && !ids.has(res.ruleId as string)) errs.push(`results[${i}].ruleId ${JSON.stringify(res.ruleId)} has no rule`);
      if (res.ruleIndex !== undefined && (rules[res.ruleIndex as number] as J | undefined)?.id !== res.ruleId) errs.push(`results[${i}].ruleIndex does not point at ruleId`);
      if (res.level !== undefined && !LEVELS.has(res.level as string)) errs.push(`results[${i}].level invalid`);
      ((res.locations ?? []) as unknown[]).forEach((l, li) => {
        const loc = obj(l, `results[${i}].locations[${li}]`);
        const pl = loc && obj(loc.physicalLocation, `results[${i}].locations[${li}].physicalLocation`);
        const al = pl && obj(pl.artifactLocation, `results[${i}].locations[${li}].physicalLocation.artifactLocation`);
        if (al) str(al.uri, `results[${i}].locations[${li}]...artifactLocation.uri`);
      });
    });
    ((run.invocations ?? []) as unknown[]).forEach((x, i) => {
      const inv = obj(x, `invocations[${i}]`);
      if (!inv) return;
      if (typeof inv.executionSuccessful !== 'boolean') errs.push(`invocations[${i}].executionSuccessful must be boolean`);
      ((inv.toolExecutionNotifications ?? []) as unknown[]).forEach((n, ni) => message((n as J).message, `invocations[${i}].toolExecutionNotifications[${ni}].message`));
    });
  });
  return errs;
}

const require = createRequire(import.meta.url);
const MULTITOOL = path.join(path.dirname(require.resolve('@microsoft/sarif-multitool-linux/package.json')), 'Sarif.Multitool');

/**
 * The official SARIF 2.1.0 JSON schema. No npm package ships it as a file, but Microsoft's SARIF
 * Multitool (a devDependency) carries it verbatim inside its binary: read it from there, parse it,
 * and check it is the document we expect.
 */
function officialSchema(): Record<string, unknown> {
  const bin = readFileSync(MULTITOOL);
  const at = bin.indexOf('"title": "Static Analysis Results Format (SARIF) Version 2.1.0 JSON Schema"');
  assert.ok(at > 0, 'SARIF schema not found in the Multitool binary');
  const start = bin.lastIndexOf('{', at);
  let depth = 0;
  let inString = false;
  for (let i = start; i < bin.length; i++) {
    const c = bin[i];
    if (inString) {
      if (c === 0x5c) i++;
      else if (c === 0x22) inString = false;
    } else if (c === 0x22) inString = true;
    else if (c === 0x7b) depth++;
    else if (c === 0x7d && --depth === 0) return JSON.parse(bin.subarray(start, i + 1).toString('utf8')) as Record<string, unknown>;
  }
  throw new Error('SARIF schema in the Multitool binary is not terminated');
}

let compiled: ValidateFunction | undefined;

/** Validate against the official SARIF 2.1.0 JSON schema (ajv, draft 2020-12). */
export function schemaValidate(doc: unknown): string[] {
  compiled ??= new Ajv2020({ allErrors: true, strict: false, validateFormats: false }).compile(officialSchema());
  return compiled(doc) ? [] : (compiled.errors ?? []).map((e) => `${e.instancePath || '/'} ${e.message ?? 'invalid'}`);
}

/**
 * Microsoft's SARIF validator (the SARIF SDK's Multitool): the spec's rules (SARIF1xxx) and the
 * ingestion guidance (SARIF2xxx). Returns its error-level results, and its warnings but for
 * `allowWarnings` (rules that do not fit a network scanner, e.g. SARIF2017: our locations are
 * endpoint URLs, which have no line/column region).
 */
export async function multitoolValidate(file: string, allowWarnings: string[] = ['SARIF2017']): Promise<string[]> {
  const out = `${file}.validation.sarif`;
  await new Promise<void>((resolve, reject) =>
    execFile(MULTITOOL, ['validate', file, '-o', out, '--quiet'], { env: { ...process.env, DOTNET_SYSTEM_GLOBALIZATION_INVARIANT: '1' } }, (err, _stdout, stderr) =>
      err ? reject(new Error(`sarif multitool failed: ${stderr || err.message}`)) : resolve(),
    ),
  );
  const log = JSON.parse(readFileSync(out, 'utf8')) as { runs: { results?: { ruleId: string; level?: string; message: { text?: string; arguments?: string[] } }[] }[] };
  return (log.runs[0]?.results ?? [])
    .filter((r) => r.level === 'error' || (r.level === 'warning' && !allowWarnings.includes(r.ruleId)))
    .map((r) => `${r.ruleId} ${r.level}: ${r.message.text ?? (r.message.arguments ?? []).join(' ')}`);
}
