// Second factors for admins: a user's MFA state, a reset (TOTP secret and recovery codes gone,
// a code lockout lifted), new recovery codes. Enrolment stays with the user's own device
// (`portcullis mfa enroll`/`confirm` on the host). Writes are audited as admin.mfa.<action>.
import type { Audit } from '../audit/audit.ts';
import type { MfaService, MfaStatus } from '../auth/mfa/mfa-service.ts';
import type { Store } from '../store/store.ts';
import type { Actor } from './actor.ts';
import { recordChange } from './record-change.ts';

export class MfaAdmin {
  constructor(
    private readonly store: Store,
    private readonly audit: Audit,
    /** Built on first use: it loads (or creates) the MFA key. */
    private readonly mfa: () => MfaService,
  ) {}

  async status(name: string): Promise<MfaStatus> {
    return this.mfa().status(await this.store.users.require(name));
  }

  async reset(actor: Actor, name: string): Promise<MfaStatus> {
    const user = await this.store.users.require(name);
    const before = await this.mfa().status(user);
    await this.mfa().disable(user);
    const after = await this.mfa().status(user);
    recordChange(this.audit, actor, 'mfa', 'reset', name, { before: { ...before }, after: { ...after } });
    return after;
  }

  /** Ten new codes (the old ones stop working); shown to the caller once. */
  async regenerateRecoveryCodes(actor: Actor, name: string): Promise<string[]> {
    const user = await this.store.users.require(name);
    const codes = await this.mfa().regenerateRecoveryCodes(user);
    recordChange(this.audit, actor, 'mfa', 'recovery-regenerated', name, { detail: `${codes.length} codes` });
    return codes;
  }
}
