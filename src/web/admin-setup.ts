// The first admin without the command line (docs/web.md, WEB-SECURITY.md rule 11): when the web
// admin starts and no admin account exists, a one-time setup token is generated and printed on
// the server's standard error (the console or journal of whoever started it, never the log
// file or the audit trail). `/ui/setup` then accepts that token once, with a name and password,
// creates a `full` admin and shows its TOTP secret; the new admin signs in normally (password +
// code). The page exists only while no admin exists: once one does (from here, the CLI, or another
// node), it answers 404 and the token is forgotten. A wrong token is audited as a failed login
// (`method: setup-token`), so the defender bans an address that guesses.
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import type { AdminAccountService } from '../admin/admin-account-service.ts';

const sha256 = (s: string) => createHash('sha256').update(s).digest();

export class SetupToken {
  private hash: Buffer | null;

  private constructor(token: string | null) {
    this.hash = token === null ? null : sha256(token);
  }

  /** A token when no admin exists (and `print` is called with it), else a closed one. */
  static async open(admins: Pick<AdminAccountService, 'count'>, print: (token: string) => void): Promise<SetupToken> {
    if ((await admins.count()) > 0) return new SetupToken(null);
    // SECURITY: 256 bits from the CSPRNG; only its hash stays in memory
    const token = randomBytes(32).toString('base64url');
    print(token);
    return new SetupToken(token);
  }

  /** True while the setup page is open (a token was printed and no admin exists yet). */
  async isOpen(admins: Pick<AdminAccountService, 'count'>): Promise<boolean> {
    if (this.hash === null) return false;
    if ((await admins.count()) > 0) {
      this.hash = null;
      return false;
    }
    return true;
  }

  /**
   * Checks a presented token in constant time. A match closes the token at once (no second use,
   * even concurrently) and returns a function that reopens it, for when the account could not be
   * created (a bad name or password); null when it does not match.
   */
  redeem(presented: unknown): (() => void) | null {
    const hash = this.hash;
    if (hash === null || typeof presented !== 'string' || presented.length > 100) return null;
    if (!timingSafeEqual(sha256(presented), hash)) return null;
    // SECURITY: one use only
    this.hash = null;
    return () => {
      this.hash = hash;
    };
  }
}
