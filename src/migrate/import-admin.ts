// The one place where the IIS import calls user administration (so the lead can re-point these
// calls at the admin services under src/admin without touching the importer).
import type { Audit } from '../audit/audit.ts';
import { SecretBox } from '../auth/mfa/secret-box.ts';
import type { Config } from '../config/schema.ts';
import type { Permission } from '../session/permissions.ts';
import type { Store } from '../store/store.ts';
import { InvitationService, type Invitation } from '../users/invitations.ts';
import { cliActor } from '../admin/actor.ts';
import { UserService } from '../admin/user-service.ts';

export interface ExistingUser {
  name: string;
  home: string;
  permissions: Permission[];
  allowedCidrs: string[];
  hasPassword: boolean;
}

export interface ImportAdmin {
  find(name: string): Promise<ExistingUser | undefined>;
  /** Creates a user without password or key. */
  createInvited(name: string, home: string, permissions: readonly Permission[]): Promise<void>;
  setAllowFrom(name: string, cidrs: string[]): Promise<void>;
  invite(name: string, days: number): Promise<Invitation>;
}

export function importAdminFor(store: Store, audit: Audit, config: Config): ImportAdmin {
  const actor = cliActor();
  const users = new UserService(store, audit, config.dataDir);
  const invitations = new InvitationService(store, audit, SecretBox.load(config.dataDir), users, actor);
  return {
    async find(name) {
      const u = await store.users.get(name);
      return u && { name: u.name, home: u.home, permissions: u.permissions, allowedCidrs: u.allowedCidrs, hasPassword: u.passwordHash !== null };
    },
    async createInvited(name, home, permissions) {
      await users.create(actor, name, { home, permissions: [...permissions], invited: true });
    },
    async setAllowFrom(name, cidrs) {
      await users.update(actor, name, { allowedCidrs: cidrs });
    },
    invite: (name, days) => invitations.create(name, days),
  };
}

export function invitationServiceFor(store: Store, audit: Audit, config: Config): InvitationService {
  return new InvitationService(store, audit, SecretBox.load(config.dataDir), new UserService(store, audit, config.dataDir));
}
