// What a user may do. Each Session operation names the permission it needs.

export const PERMISSIONS = ['list', 'download', 'upload', 'overwrite', 'delete', 'rename', 'mkdir', 'rmdir', 'symlink', 'setstat'] as const;
export type Permission = (typeof PERMISSIONS)[number];

export const ALL_PERMISSIONS: readonly Permission[] = PERMISSIONS;
export const READ_ONLY_PERMISSIONS: readonly Permission[] = ['list', 'download'];

export function parsePermissions(json: string): Permission[] {
  const value: unknown = JSON.parse(json);
  if (!Array.isArray(value)) return [];
  // SECURITY: unknown names are dropped, never widened into something else.
  return value.filter((p): p is Permission => (PERMISSIONS as readonly string[]).includes(p as string));
}
