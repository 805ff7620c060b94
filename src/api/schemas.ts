// The REST API's request and response schemas (zod). They validate every request and are the
// source of the OpenAPI document (openapi.ts): one definition, never two that can drift.
import { z } from 'zod';
import { LIMITS } from '../config/limits.ts';
import { SEVERITIES } from '../scanner/types.ts';
import { PERMISSIONS } from '../session/permissions.ts';

const text = (max: number) => z.string().max(max);

export const userName = z
  .string()
  .min(1)
  .max(LIMITS.maxUserNameLength)
  .regex(/^[A-Za-z0-9_][A-Za-z0-9._-]*$/)
  .meta({ description: 'letters, digits, dot, dash, underscore; not starting with dot or dash' });
const cidr = text(64).meta({ description: 'an IPv4 or IPv6 address or CIDR' });
const permission = z.enum(PERMISSIONS);
const isoTime = z.string().meta({ description: 'ISO-8601 time' });


export const pageQuery = z.strictObject({
  limit: z.coerce.number().int().min(1).max(LIMITS.apiPageSize.ceiling).optional().meta({ description: `page size (default ${LIMITS.apiPageSize.default})` }),
  cursor: text(512).optional().meta({ description: 'the `next` of the previous page' }),
});

export const page = <T extends z.ZodType>(item: T, id: string) => z.strictObject({ items: z.array(item), next: z.string().nullable().meta({ description: 'cursor of the next page; null on the last' }) }).meta({ id });

export const userView = z
  .strictObject({
    name: z.string(),
    home: z.string(),
    permissions: z.array(permission),
    readOnly: z.boolean(),
    disabled: z.boolean(),
    password: z.boolean().meta({ description: 'whether a password is set (never the password or its hash)' }),
    allowedCidrs: z.array(z.string()),
    deniedCidrs: z.array(z.string()),
    accessHours: z.string(),
    maxSessions: z.number().int(),
    mfaRequired: z.boolean().nullable(),
    clientCertPins: z.array(z.string()),
    createdAt: isoTime,
    updatedAt: isoTime,
  })
  .meta({ id: 'User' });

const homeField = text(LIMITS.maxAdminHomeLength).meta({ description: 'a directory relative to DATADIR/home (no "..", not absolute); default DATADIR/home/NAME' });
const passwordField = z.string().min(1).max(LIMITS.maxPasswordBytes);
const publicKeyField = text(LIMITS.maxPublicKeyBytes).meta({ description: 'one OpenSSH public key line' });

export const createUserBody = z
  .strictObject({
    name: userName,
    password: passwordField.optional(),
    publicKey: publicKeyField.optional(),
    home: homeField.optional(),
    readOnly: z.boolean().optional(),
    permissions: z.array(permission).max(PERMISSIONS.length).optional(),
  })
  .meta({ id: 'CreateUser' });

export const updateUserBody = z
  .strictObject({
    home: homeField.optional(),
    permissions: z.array(permission).max(PERMISSIONS.length).optional(),
    readOnly: z.boolean().optional(),
    disabled: z.boolean().optional(),
    allowedCidrs: z.array(cidr).max(LIMITS.maxApiTokenSources).optional(),
    deniedCidrs: z.array(cidr).max(LIMITS.maxApiTokenSources).optional(),
    accessHours: text(200).optional().meta({ description: 'e.g. "mon-fri 08:00-18:00"; "" clears' }),
    maxSessions: z.number().int().min(0).max(LIMITS.maxSessionsPerUser.ceiling).optional(),
    mfaRequired: z.boolean().nullable().optional().meta({ description: 'null: follow mfa.required' }),
  })
  .meta({ id: 'UpdateUser' });

export const passwordBody = z.strictObject({ password: passwordField }).meta({ id: 'Password' });

export const keyView = z.strictObject({ algorithm: z.string(), fingerprint: z.string(), comment: z.string(), createdAt: isoTime }).meta({ id: 'PublicKey' });
export const addKeyBody = z.strictObject({ publicKey: publicKeyField }).meta({ id: 'AddPublicKey' });

export const certBody = z.strictObject({ fingerprint: text(120).meta({ description: 'SHA-256 of the client certificate, 64 hex digits (colons optional)' }) }).meta({ id: 'AddCertificatePin' });
export const certView = z.strictObject({ fingerprint: z.string() }).meta({ id: 'CertificatePin' });

export const ruleKind = z.enum(['allow', 'deny']);
export const ruleView = z
  .strictObject({ kind: ruleKind, cidr: z.string(), protocols: z.array(z.string()), source: z.enum(['config', 'store']), comment: z.string() })
  .meta({ id: 'Rule' });
export const addRuleBody = z
  .strictObject({ cidr, protocols: z.array(z.enum(['sftp', 'ftps', 'admin', 'portal'])).max(4).optional(), comment: text(200).optional() })
  .meta({ id: 'AddRule' });

export const banView = z.strictObject({ address: z.string(), reason: z.string(), source: z.string(), createdAt: isoTime, expiresAt: isoTime }).meta({ id: 'Ban' });
export const addBanBody = z
  .strictObject({ address: text(64).meta({ description: 'one IPv4 or IPv6 address' }), minutes: z.number().int().min(1).max(525_600).optional(), reason: text(200).optional() })
  .meta({ id: 'AddBan' });

export const banExportQuery = z.strictObject({ format: z.enum(['nft']).meta({ description: 'nft: an nftables script (`nft -f`)' }) });

export const sessionView = z
  .strictObject({
    id: z.string(),
    protocol: z.string(),
    address: z.string(),
    port: z.number().int(),
    since: isoTime,
    user: z.string().nullable(),
    transfer: z.strictObject({ direction: z.enum(['upload', 'download']), path: z.string(), bytes: z.number().int(), since: isoTime }).nullable(),
  })
  .meta({ id: 'Session' });

const runId = z.coerce.number().int().min(1).max(Number.MAX_SAFE_INTEGER).meta({ description: 'a run id (`GET /v1/scans`)' });
const scanTarget = text(300).meta({ description: 'ftp://host:port, ftps://host:port or sftp://host:port' });
const failure = z.strictObject({ id: z.string(), severity: z.enum(SEVERITIES), title: z.string() }).meta({ id: 'ScanFinding' });

export const scanHistoryQuery = pageQuery.extend({ target: scanTarget.optional().meta({ description: 'only this target (as configured or as a listener: ftp://, ftps://, sftp://)' }) });
export const scanHistoryRow = z
  .strictObject({ runId: z.number().int(), target: z.string(), startedAt: isoTime, reachable: z.boolean(), failures: z.array(failure), kind: z.string(), trigger: z.string(), node: z.string() })
  .meta({ id: 'ScanHistoryRow' });
export const startScanBody = z
  .strictObject({
    target: scanTarget.optional().meta({ description: '"own" or absent: every listener of this server; or one URL of scans.targets or of a listener. Nothing else is scanned: an address given here is never resolved or connected to' }),
  })
  .meta({ id: 'StartScan' });
export const scanStartedView = z
  .strictObject({ id: z.number().int(), status: z.literal('running'), targets: z.array(z.string()) })
  .meta({ id: 'ScanStarted' });
export const scanRunView = z
  .strictObject({
    id: z.number().int(),
    kind: z.enum(['scan', 'posture']),
    trigger: z.string().meta({ description: 'schedule, api, cli, …' }),
    node: z.string(),
    status: z.enum(['running', 'completed', 'failed', 'interrupted']).meta({ description: 'interrupted: it never finished (its node stopped)' }),
    startedAt: isoTime,
    finishedAt: isoTime.nullable(),
    score: z.number().nullable().meta({ description: 'posture runs: the overall score' }),
    summary: z.record(z.string(), z.unknown()),
    results: z.array(
      z.strictObject({
        target: z.string(),
        startedAt: isoTime,
        reachable: z.boolean(),
        failures: z.array(failure),
        report: z.record(z.string(), z.unknown()).meta({ description: "the scanner's report of this target (`portcullis scan --json`, one entry of `targets`)" }),
      }),
    ),
  })
  .meta({ id: 'ScanRun' });
const targetDiff = z
  .strictObject({
    target: z.string(),
    before: z.number().int().nullable().meta({ description: 'run a, or null: the target was not in it' }),
    after: z.number().int().nullable(),
    new: z.array(failure),
    resolved: z.array(failure),
    unchanged: z.array(failure),
  })
  .meta({ id: 'ScanTargetDiff' });
export const scanDiffView = z.strictObject({ runA: z.number().int(), runB: z.number().int(), targets: z.array(targetDiff) }).meta({ id: 'ScanDiff' });

export const healthView = z.strictObject({ status: z.literal('ok') }).meta({ id: 'Health' });

export const params = {
  user: z.strictObject({ name: userName }),
  userKey: z.strictObject({ name: userName, fingerprint: text(200).meta({ description: 'SHA256:… as listed, URL-encoded' }) }),
  userCert: z.strictObject({ name: userName, fingerprint: text(120) }),
  ruleKind: z.strictObject({ kind: ruleKind }),
  ban: z.strictObject({ address: text(64) }),
  session: z.strictObject({ id: text(64).regex(/^[A-Za-z0-9-]+$/) }),
  scanRun: z.strictObject({ id: runId }),
  scanDiff: z.strictObject({ a: runId, b: runId }),
};

export const ruleQuery = z.strictObject({ cidr });

export const mfaStatusView = z
  .strictObject({ required: z.boolean(), state: z.enum(['none', 'pending', 'active']), recoveryCodesLeft: z.number().int(), lockedUntil: z.string().nullable() })
  .meta({ id: 'MfaStatus' });
export const recoveryCodesView = z.strictObject({ recoveryCodes: z.array(z.string()).meta({ description: 'shown once; each works once in place of a code' }) }).meta({ id: 'RecoveryCodes' });

export const auditQuery = z.strictObject({
  user: text(LIMITS.maxUserNameLength).optional(),
  address: text(64).optional(),
  event: text(100).regex(/^[a-z0-9.*-]+$/).optional().meta({ description: 'a prefix (auth.) or a glob (file.*.failed)' }),
  since: text(40).optional().meta({ description: 'a duration before now (30m, 24h, 7d) or an ISO-8601 date' }),
  until: text(40).optional(),
  limit: z.coerce.number().int().min(1).max(LIMITS.apiPageSize.ceiling).optional(),
  cursor: text(20).optional().meta({ description: 'the `next` of the previous page' }),
});
export const auditRecord = z.record(z.string(), z.unknown()).meta({ description: 'one audit record as written to the trail (docs/monitoring.md)' });
export const auditVerifyView = z.looseObject({ ok: z.boolean() }).meta({ id: 'AuditVerifyReport', description: 'the `audit verify --json` report' });

const layerScore = z.strictObject({ layer: z.string(), score: z.number(), findings: z.record(z.string(), z.number()), notChecked: z.number() });
const postureResult = z.looseObject({ id: z.string(), title: z.string(), layer: z.string(), severity: z.string(), status: z.string(), evidence: z.array(z.string()), fix: z.string() });
export const postureView = z.strictObject({ generatedAt: isoTime, overall: z.number(), layers: z.array(layerScore), results: z.array(postureResult) }).meta({ id: 'Posture' });
export const configView = z.record(z.string(), z.unknown()).meta({ id: 'EffectiveConfig', description: 'docs/configuration.md; secrets are "***"' });
