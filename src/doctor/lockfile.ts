// The dependency tree as installed: npm's hidden lockfile (node_modules/.package-lock.json,
// written by every install and describing exactly what is on disk), else package-lock.json.
// lockfileVersion 2 and 3 (`packages`); version 1 predates them and is refused.
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { PortcullisError } from '../errors/index.ts';
import type { InstalledPackage } from './osv.ts';

/** The folder Portcullis is installed in (where its package.json and node_modules are). */
export const INSTALL_ROOT = fileURLToPath(new URL('../../', import.meta.url));

interface LockEntry {
  name?: string;
  version?: string;
  dev?: boolean;
  link?: boolean;
  dependencies?: Record<string, string>;
  optionalDependencies?: Record<string, string>;
  peerDependencies?: Record<string, string>;
}

export interface InstalledTree {
  file: string;
  packages: InstalledPackage[];
}

export function lockfileOf(root = INSTALL_ROOT): string {
  const hidden = path.join(root, 'node_modules', '.package-lock.json');
  return existsSync(hidden) ? hidden : path.join(root, 'package-lock.json');
}

export function readInstalledTree(root = INSTALL_ROOT): InstalledTree {
  const file = lockfileOf(root);
  let doc: { lockfileVersion?: number; packages?: Record<string, LockEntry> };
  try {
    doc = JSON.parse(readFileSync(file, 'utf8')) as typeof doc;
  } catch (cause) {
    throw new PortcullisError('ERR_DOCTOR_LOCKFILE', `${file}: ${(cause as NodeJS.ErrnoException).code ?? 'not JSON'}`, { cause });
  }
  if (typeof doc.packages !== 'object' || doc.packages === null) {
    throw new PortcullisError('ERR_DOCTOR_LOCKFILE', `${file}: lockfileVersion ${doc.lockfileVersion ?? '?'} has no "packages" (npm 7 or newer writes them)`);
  }
  const dependents = new Map<string, Set<string>>();
  const entries: [string, LockEntry][] = Object.entries(doc.packages).filter(([loc, e]) => loc !== '' && !e.link && typeof e.version === 'string');
  const nameOf = (loc: string, e: LockEntry) => e.name ?? loc.slice(loc.lastIndexOf('node_modules/') + 'node_modules/'.length);
  // The hidden lockfile has no root entry: the root's dependencies come from package.json.
  let rootEntry = doc.packages[''];
  if (!rootEntry) {
    try {
      rootEntry = JSON.parse(readFileSync(path.join(root, 'package.json'), 'utf8')) as LockEntry;
    } catch {
      rootEntry = {};
    }
  }
  for (const [loc, e] of [...entries, ['', rootEntry] as [string, LockEntry]]) {
    const parent = loc === '' ? '(portcullis)' : nameOf(loc, e);
    for (const dep of Object.keys({ ...e.dependencies, ...e.optionalDependencies, ...e.peerDependencies })) {
      if (!dependents.has(dep)) dependents.set(dep, new Set());
      dependents.get(dep)!.add(parent);
    }
  }
  return {
    file,
    packages: entries.map(([location, e]) => {
      const name = nameOf(location, e);
      return { name, version: e.version!, location, dev: e.dev === true, dependents: [...(dependents.get(name) ?? [])].sort() };
    }),
  };
}
