// `portcullis migrate iis --apply`: creates the planned users without passwords and gives each a
// one-time enrolment invitation. Idempotent: a user that already exists is never changed (an
// operator's later edits win); it is reported as unchanged, or as differing from the plan.
import path from 'node:path';
import type { ImportAdmin } from './import-admin.ts';
import { ACCESS_PERMISSIONS, type ImportPlan } from './iis-plan.ts';

export interface ApplyOptions {
  /** Folder holding the homes (default DATADIR/home). */
  homesRoot: string;
  inviteDays: number;
  /** Also set each user's allow-list from the networks the logs saw. */
  userAllowLists: boolean;
}

export interface ApplyResult {
  created: { name: string; home: string; access: string; token: string; expiresAt: string }[];
  unchanged: string[];
  differing: { name: string; differences: string[] }[];
}

export function plannedHome(u: ImportPlan['users'][number], homesRoot: string): string {
  return path.resolve(homesRoot, u.sharedHome ?? u.name);
}

export async function applyImportPlan(plan: ImportPlan, admin: ImportAdmin, o: ApplyOptions): Promise<ApplyResult> {
  const result: ApplyResult = { created: [], unchanged: [], differing: [] };
  for (const u of plan.users) {
    const home = plannedHome(u, o.homesRoot);
    const permissions = ACCESS_PERMISSIONS[u.access];
    const allowFrom = o.userAllowLists ? u.allowFrom : [];
    const existing = await admin.find(u.name);
    if (existing) {
      const differences: string[] = [];
      if (existing.home !== home) differences.push(`home ${existing.home} (plan: ${home})`);
      if ([...existing.permissions].sort().join(',') !== [...permissions].sort().join(',')) differences.push(`permissions ${existing.permissions.join(',')} (plan: ${u.access})`);
      if (allowFrom.length && existing.allowedCidrs.join(',') !== allowFrom.join(',')) differences.push(`allow-from ${existing.allowedCidrs.join(',') || 'any'} (plan: ${allowFrom.join(',')})`);
      if (differences.length) result.differing.push({ name: u.name, differences });
      else result.unchanged.push(u.name);
      continue;
    }
    await admin.createInvited(u.name, home, permissions);
    if (allowFrom.length) await admin.setAllowFrom(u.name, allowFrom);
    const inv = await admin.invite(u.name, o.inviteDays);
    result.created.push({ name: u.name, home, access: u.access, token: inv.token, expiresAt: inv.expiresAt });
  }
  return result;
}

export function formatApplyText(r: ApplyResult): string {
  const out: string[] = [];
  out.push(`${r.created.length} users created, ${r.unchanged.length} already there and unchanged, ${r.differing.length} already there and different from the plan (left as they are).`);
  if (r.created.length) {
    out.push('', 'One-time invitations (shown once; give each to its user over a trusted channel):');
    for (const c of r.created) out.push(`  ${c.name} (${c.access}, home ${c.home}): portcullis invite accept ${c.token} --password-stdin   (expires ${c.expiresAt})`);
  }
  for (const d of r.differing) out.push(`  ${d.name}: ${d.differences.join('; ')}`);
  return out.join('\n') + '\n';
}
