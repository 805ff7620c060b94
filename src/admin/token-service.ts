// API tokens: `pct_<id>_<secret>`, shown once at creation. The store keeps the id, the scopes,
// the allowed source addresses, the expiry and HMAC-SHA256(key, token) with a key that stays
// out of the database (DATADIR/api-token.key, 0600, or PORTCULLIS_API_TOKEN_KEY shared by the
// nodes of a cluster): a stolen database copy cannot produce or check a token.
// `verify` is the one verifier of the admin plane: every failure throws the same error
// (ERR_API_UNAUTHENTICATED) and is audited as `auth.failed` with the real reason, which the
// defender scores like a failed login.
import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import { chmodSync, existsSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import type { Audit } from '../audit/audit.ts';
import { LIMITS } from '../config/limits.ts';
import { PortcullisError } from '../errors/index.ts';
import { addressInAny, parseCidr } from '../policy/ip-matcher.ts';
import type { Store } from '../store/store.ts';
import type { StoredToken } from '../store/token-repository.ts';
import type { Actor } from './actor.ts';
import { recordChange } from './record-change.ts';

export const API_TOKEN_KEY_ENV = 'PORTCULLIS_API_TOKEN_KEY';

/** Every scope; a route names the one it needs. `read` scopes never allow a write. */
export const SCOPES = ['users:read', 'users:write', 'rules:read', 'rules:write', 'bans:read', 'bans:write', 'sessions:read', 'sessions:write', 'audit:read', 'posture:read', 'config:read', 'scans:read', 'scans:write'] as const;
export type Scope = (typeof SCOPES)[number];

const TOKEN = /^pct_([0-9a-f]{16})_([A-Za-z0-9_-]{43})$/;
const NAME = /^[A-Za-z0-9][A-Za-z0-9._-]*$/;

export interface TokenView {
  id: string;
  name: string;
  scopes: string[];
  sources: string[];
  createdAt: string;
  createdBy: string;
  expiresAt: string | null;
  revokedAt: string | null;
  lastUsedAt: string | null;
}

const view = ({ mac: _mac, ...t }: StoredToken): TokenView => t;

/** Who a verified token is: the actor for the services and what it may do. */
export interface TokenPrincipal {
  actor: Actor;
  scopes: ReadonlySet<string>;
}

export function parseScopes(list: string): Scope[] {
  const scopes = [...new Set(list.split(',').map((s) => s.trim()).filter(Boolean))];
  if (scopes.length === 0) throw new PortcullisError('ERR_TOKEN_INVALID', `give at least one scope: ${SCOPES.join(', ')}`);
  for (const s of scopes) if (!(SCOPES as readonly string[]).includes(s)) throw new PortcullisError('ERR_TOKEN_INVALID', `unknown scope "${s.slice(0, 40)}" (use ${SCOPES.join(', ')})`);
  return scopes as Scope[];
}

export class TokenService {
  private key: Buffer | null = null;

  constructor(
    private readonly store: Store,
    private readonly audit: Audit,
    private readonly dataDir: string,
    private readonly env: NodeJS.ProcessEnv = process.env,
    private readonly now: () => number = Date.now,
  ) {}

  /** The HMAC key, created on first use (0600 in the 0700 data dir). */
  private hmacKey(): Buffer {
    if (this.key) return this.key;
    const fromEnv = this.env[API_TOKEN_KEY_ENV];
    let key: Buffer;
    if (fromEnv) {
      key = Buffer.from(fromEnv, 'base64');
      if (key.length !== 32) throw new PortcullisError('ERR_CONFIG_INVALID', `${API_TOKEN_KEY_ENV}: must be 32 bytes in base64 (e.g. from \`openssl rand -base64 32\`)`);
    } else {
      const file = path.join(this.dataDir, 'api-token.key');
      if (!existsSync(file)) writeFileSync(file, randomBytes(32).toString('base64') + '\n', { mode: 0o600, flag: 'wx' });
      chmodSync(file, 0o600); // SECURITY: whoever reads this key and the database can check guesses offline
      key = Buffer.from(readFileSync(file, 'utf8').trim(), 'base64');
      if (key.length !== 32) throw new PortcullisError('ERR_IDENTITY_UNREADABLE', `${file}: not a 32-byte base64 key`);
    }
    this.key = key;
    return key;
  }

  private mac(token: string): Buffer {
    return createHmac('sha256', this.hmacKey()).update(token).digest();
  }

  /** Creates a token; the returned `token` is the only time its secret exists outside the client. */
  async create(actor: Actor, name: string, options: { scopes: Scope[]; expiresDays?: number | undefined; sources?: string[] | undefined }): Promise<{ token: string; view: TokenView }> {
    if (name.length === 0 || name.length > LIMITS.maxApiTokenNameLength || !NAME.test(name)) throw new PortcullisError('ERR_TOKEN_INVALID', `a token name has 1-${LIMITS.maxApiTokenNameLength} letters, digits, dot, dash or underscore`);
    if (options.scopes.length === 0) throw new PortcullisError('ERR_TOKEN_INVALID', 'give at least one scope');
    const { expiresDays } = options;
    if (expiresDays !== undefined && !(Number.isInteger(expiresDays) && expiresDays >= 1 && expiresDays <= LIMITS.maxApiTokenDays)) throw new PortcullisError('ERR_TOKEN_INVALID', `--expires must be a whole number of days from 1 to ${LIMITS.maxApiTokenDays}`);
    const sources = (options.sources ?? []).map((s) => parseCidr(s).text);
    if (sources.length > LIMITS.maxApiTokenSources) throw new PortcullisError('ERR_TOKEN_INVALID', `at most ${LIMITS.maxApiTokenSources} source addresses`);
    const all = await this.store.tokens.list();
    if (all.some((t) => t.name === name && t.revokedAt === null)) throw new PortcullisError('ERR_TOKEN_EXISTS', name);
    if (all.length >= LIMITS.maxApiTokens) throw new PortcullisError('ERR_TOKEN_INVALID', `at most ${LIMITS.maxApiTokens} tokens`);
    const id = randomBytes(8).toString('hex');
    const token = `pct_${id}_${randomBytes(32).toString('base64url')}`;
    const now = new Date(this.now());
    const stored = {
      id,
      name,
      mac: this.mac(token).toString('hex'),
      scopes: [...options.scopes],
      sources,
      createdAt: now.toISOString(),
      createdBy: `${actor.kind}:${actor.id}`,
      expiresAt: expiresDays === undefined ? null : new Date(now.getTime() + expiresDays * 86_400_000).toISOString(),
    };
    await this.store.tokens.add(stored);
    const v = view({ ...stored, revokedAt: null, lastUsedAt: null });
    recordChange(this.audit, actor, 'token', 'created', name, { after: { ...v } });
    return { token, view: v };
  }

  async list(): Promise<TokenView[]> {
    return (await this.store.tokens.list()).map(view);
  }

  async revoke(actor: Actor, nameOrId: string): Promise<TokenView> {
    const t = view(await this.store.tokens.revoke(nameOrId, new Date(this.now())));
    recordChange(this.audit, actor, 'token', 'revoked', t.name, { after: { id: t.id, revokedAt: t.revokedAt } });
    return t;
  }

  /**
   * The one verifier: a token presented from `address`. Unknown, malformed, wrong, expired,
   * revoked and wrong-source tokens all throw ERR_API_UNAUTHENTICATED (the audit says which).
   */
  async verify(presented: string, address: string): Promise<TokenPrincipal> {
    const fail = (reason: 'bad-credentials' | 'address-not-allowed', why: string, name?: string): never => {
      this.audit.emit({ type: 'auth.failed', protocol: 'admin', method: 'api-token', code: 'ERR_API_UNAUTHENTICATED', reason, remoteAddress: address, ...(name && { user: `token:${name}` }) });
      throw new PortcullisError('ERR_API_UNAUTHENTICATED', why);
    };
    const m = TOKEN.exec(presented);
    // SECURITY: a MAC is computed and compared whatever the id, so an unknown id costs the same.
    const mac = this.mac(presented);
    const stored = m ? await this.store.tokens.byId(m[1]!) : undefined;
    const expected = stored ? Buffer.from(stored.mac, 'hex') : Buffer.alloc(32);
    const matches = timingSafeEqual(mac, expected.length === 32 ? expected : Buffer.alloc(32)) && stored !== undefined;
    if (!matches || !stored) return fail('bad-credentials', 'unknown or wrong token');
    if (stored.revokedAt !== null) return fail('bad-credentials', 'revoked token', stored.name);
    if (stored.expiresAt !== null && Date.parse(stored.expiresAt) <= this.now()) return fail('bad-credentials', 'expired token', stored.name);
    if (stored.sources.length > 0 && addressInAny(address, stored.sources) === null) return fail('address-not-allowed', 'token used from an address it is not allowed from', stored.name);
    // last use, at most once a minute per token (not a write per request)
    if (stored.lastUsedAt === null || this.now() - Date.parse(stored.lastUsedAt) >= 60_000) await this.store.tokens.touch(stored.id, new Date(this.now()));
    return { actor: { kind: 'api-token', id: `${stored.name}(${stored.id})`, address }, scopes: new Set(stored.scopes) };
  }
}
