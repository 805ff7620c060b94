// The admin services, built together over one store and audit bus. The CLI builds them over the
// store alone (a defender that only writes bans; sessions over the control socket); the server
// builds them over its running defender and sessions (the REST API).
import type { Audit } from '../audit/audit.ts';
import { MfaService } from '../auth/mfa/mfa-service.ts';
import { SecretBox } from '../auth/mfa/secret-box.ts';
import type { Config } from '../config/schema.ts';
import { Defender } from '../policy/defender.ts';
import type { PostureSnapshot } from '../posture/snapshot.ts';
import type { Store } from '../store/store.ts';
import { InvitationService } from '../users/invitations.ts';
import { AdminAccountService } from './admin-account-service.ts';
import { AuditService } from './audit-service.ts';
import { MfaAdmin } from './mfa-admin.ts';
import { PolicyService } from './policy-service.ts';
import { PostureService } from './posture-service.ts';
import { ScanService, type ScanRunner } from './scan-service.ts';
import type { SessionControl } from './session-service.ts';
import { TokenService } from './token-service.ts';
import { UserService } from './user-service.ts';

export interface AdminServices {
  users: UserService;
  policy: PolicyService;
  tokens: TokenService;
  sessions: SessionControl;
  mfa: MfaAdmin;
  audit: AuditService;
  posture: PostureService;
  scans: ScanService;
  admins: AdminAccountService;
  /** One-time enrolment invitations (the portal redeems them); created on first use. */
  readonly invitations: InvitationService;
}

export interface AdminDeps {
  store: Store;
  audit: Audit;
  config: Config;
  sessions: SessionControl;
  /** The running server's defender; without it bans are written through one that scores nothing. */
  defender?: Pick<Defender, 'ban' | 'lift'>;
  /** The running server's MFA service; without it one is built on first use. */
  mfa?: MfaService;
  /** The running server's posture snapshot (the REST API); absent in the CLI. */
  snapshot?: () => Promise<PostureSnapshot>;
  /** The running server's password check (throttle and verification queue, as for file-protocol
   * logins); absent in the CLI, where passwords are checked directly. */
  checkPassword?: (name: string, storedHash: string | null, password: string, address: string) => Promise<boolean>;
  /** The running server's scanner (the REST API starts scans); absent in the CLI. */
  scanner?: ScanRunner;
}

export function createAdminServices(deps: AdminDeps): AdminServices {
  const defender = deps.defender ?? new Defender({ ...deps.config.defender, enabled: false }, deps.store.policy, deps.audit);
  let mfa = deps.mfa;
  let box: SecretBox | undefined;
  const secretBox = () => (box ??= SecretBox.load(deps.config.dataDir));
  const mfaService = () => (mfa ??= new MfaService(deps.store, deps.audit, secretBox(), deps.config.mfa));
  const users = new UserService(deps.store, deps.audit, deps.config.dataDir);
  let invitations: InvitationService | undefined;
  return {
    users,
    policy: new PolicyService(deps.store, deps.audit, deps.config, defender),
    tokens: new TokenService(deps.store, deps.audit, deps.config.dataDir),
    sessions: deps.sessions,
    mfa: new MfaAdmin(deps.store, deps.audit, mfaService),
    audit: new AuditService(deps.store, deps.config),
    posture: new PostureService(deps.config, deps.snapshot ?? null),
    scans: new ScanService(deps.store, deps.audit, deps.scanner ?? null),
    admins: new AdminAccountService(deps.store, deps.audit, secretBox, deps.config, deps.checkPassword),
    get invitations() {
      return (invitations ??= new InvitationService(deps.store, deps.audit, secretBox(), users));
    },
  };
}
