// The configuration schema: every key, its default (secure, dangerous features off) and its
// validation. Loading and environment overrides live in load.ts.
import { isIP } from 'node:net';
import { createRequire } from 'node:module';
import { z } from 'zod';
import { parseCidr } from '../policy/ip-matcher.ts';
import { LEGACY_ALGORITHMS } from '../protocols/sftp/algorithms.ts';
import { SEVERITIES } from '../scanner/types.ts';
import { LIMITS } from './limits.ts';

const port = z.number().int().min(0, 'must be a port number from 0 to 65535').max(65535, 'must be a port number from 0 to 65535');
const address = z.string().refine((v) => isIP(v) !== 0, 'must be an IPv4 or IPv6 address such as 0.0.0.0 or ::');
const bounded = (b: { default: number; ceiling: number; min?: number }, unit = '') =>
  z
    .number()
    .int()
    .min(b.min ?? 1, `must be at least ${b.min ?? 1}${unit}`)
    .max(b.ceiling, `must be at most ${b.ceiling}${unit} (hard limit)`)
    .default(b.default);

/** "50000-50100" → [50000, 50100]; a single port "50000" is a range of one. */
export function parsePortRange(value: string): [number, number] | null {
  const m = /^\s*(\d{1,5})\s*(?:-\s*(\d{1,5})\s*)?$/.exec(value);
  if (!m) return null;
  const lo = Number(m[1]);
  const hi = Number(m[2] ?? m[1]);
  if (lo < 1024 || hi > 65535 || lo > hi) return null;
  return [lo, hi];
}

const cidr = z.string().refine((v) => {
  try {
    parseCidr(v);
    return true;
  } catch {
    return false;
  }
}, 'must be an IPv4 or IPv6 address or CIDR such as 203.0.113.0/24');

const addressRule = z.union([
  cidr,
  z.strictObject({ cidr, protocols: z.array(z.enum(['sftp', 'ftps', 'admin', 'portal'])).optional(), comment: z.string().optional() }),
]);

/** A cron expression (5 fields, or 6 with seconds; nicknames such as @daily), validated by croner. */
// croner is loaded only when a schedule is configured (most one-shot commands have none).
let cron: typeof import('croner') | undefined;
export const cronSchedule = z.string().refine((v) => {
  try {
    cron ??= createRequire(import.meta.url)('croner') as typeof import('croner');
    new cron.Cron(v, { paused: true }).stop();
    return true;
  } catch {
    return false;
  }
}, 'must be a cron expression such as "30 4 * * *" (minute hour day month weekday) or @daily');

const portRange = z
  .union([z.string(), z.number().int()])
  .transform((v) => String(v))
  .refine((v) => parsePortRange(v) !== null, 'must be a port range "LOW-HIGH" within 1024-65535, LOW <= HIGH');

/** Why a portal public URL cannot carry invitation links, or null. */
function publicUrlProblem(value: string): string | null {
  const u = new URL(value);
  if (u.username || u.password || u.search || u.hash) return 'user, query or fragment';
  const host = u.hostname.replace(/^\[|\]$/g, '');
  if (u.protocol === 'http:' && host !== 'localhost' && host !== '::1' && !/^127\./.test(host)) return 'plain http';
  return null;
}

export const configSchema = z.strictObject({
  /** Where keys, certificates, the SQLite store and audit files live. */
  dataDir: z.string().min(1, 'must not be empty').default('./data'),
  /** Worker processes sharing the SFTP and FTPS listening sockets (docs/workers.md): 1 (one
   * process, as before), a number, or 'auto' (one per core the process may use). */
  workers: z
    .union([z.literal('auto'), z.number().int().min(1, 'must be at least 1').max(LIMITS.maxWorkers, `must be at most ${LIMITS.maxWorkers} (hard limit)`)], {
      error: `must be a whole number from 1 to ${LIMITS.maxWorkers} or 'auto' (one worker per core)`,
    })
    .default(1),
  log: z
    .strictObject({
      level: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
    })
    .prefault({}),
  sftp: z
    .strictObject({
      enabled: z.boolean().default(true),
      address: address.default('0.0.0.0'),
      port: port.default(2222),
      /** DANGEROUS: older SSH algorithms, enabled one by one (e.g. hmac-sha2-256 for curl/libssh2
       * 1.10, ssh-rsa for SHA-1 RSA user signatures). Warned about at every start. */
      legacyAlgorithms: z.array(z.enum(LEGACY_ALGORITHMS)).default([]),
    })
    .prefault({}),
  ftps: z
    .strictObject({
      enabled: z.boolean().default(true),
      address: address.default('0.0.0.0'),
      /** Explicit FTPS (AUTH TLS). */
      port: port.default(2121),
      /** Implicit FTPS (TLS from the first byte); 0 picks a free port, null turns it off. */
      implicitPort: port.nullable().default(2990),
      passivePorts: portRange.default('50000-50100'),
      /** Address announced in PASV replies (NAT); null announces the control connection's local address. */
      passiveAddress: address.nullable().default(null),
      /** DANGEROUS: accept logins before AUTH TLS. Off by default, warned about at every start. */
      allowPlaintext: z.boolean().default(false),
      /**
       * TLS session reuse on data connections (the peer address binding always applies):
       * 'required': every data connection must resume the control connection's TLS session;
       * DANGEROUS 'optional': never checked (for clients that never resume, such as Python's
       * stock ftplib): another client at the same address can take a data connection over.
       * Warned about at every start, reported by posture. See docs/ftps.md.
       */
      dataTlsSessionReuse: z
        .enum(['required', 'optional'], { error: 'must be "required" (the default) or "optional" ("first" was removed: any data connection after the first could be taken over by a fresh TLS handshake from the same address)' })
        .default('required'),
    })
    .prefault({}),
  tls: z
    .strictObject({
      /** PEM certificate chain; null uses the one generated in the data dir. */
      certFile: z.string().min(1).nullable().default(null),
      keyFile: z.string().min(1).nullable().default(null),
    })
    .prefault({})
    .refine((t) => (t.certFile === null) === (t.keyFile === null), {
      message: 'certFile and keyFile must be set together',
      path: ['certFile'],
    }),
  metrics: z
    .strictObject({
      enabled: z.boolean().default(true),
      address: address.default('127.0.0.1'),
      port: port.default(7464),
    })
    .prefault({}),
  /** Several nodes (docs/cluster.md): Redis for what they share beyond the store. */
  redis: z
    .strictObject({
      /** redis://[user:password@]host:port[/db] or rediss:// (TLS); null: one node, nothing on Redis. */
      url: z.string().regex(/^rediss?:\/\//, 'must start with redis:// or rediss://').nullable().default(null),
      /** Prefix of every key and channel, so several installations can share one Redis. */
      keyPrefix: z.string().min(1).max(64).regex(/^[\w:.-]+$/).default('portcullis:'),
    })
    .prefault({}),
  /** Balancers in front of the SFTP, FTPS, admin API and portal listeners (docs/cluster.md). */
  proxy: z
    .strictObject({
      /** Peers (CIDRs) that must open every connection with a PROXY protocol header (v1 or v2);
       * the client address it carries is the one admission, the defender and the audit see. From
       * any other peer no header is read. Empty: off. */
      trustedAddresses: z.array(cidr).default([]),
    })
    .prefault({}),
  /** The management plane: the REST API (docs/api.md). Off until turned on; loopback by default. */
  admin: z
    .strictObject({
      enabled: z.boolean().default(false),
      /** Off loopback is warned about at every start and reported by `posture`. */
      address: address.default('127.0.0.1'),
      port: port.default(7465),
      /** HTTPS with the server's TLS certificate. Plain HTTP is accepted only on a loopback address. */
      tls: z.boolean().default(true),
      /** Reverse proxies whose X-Forwarded-For is believed (CIDRs); from anyone else it is ignored. */
      trustedProxies: z.array(cidr).default([]),
      /** The web admin (docs/web.md) on the same listener, under /ui/. */
      web: z.boolean().default(true),
    })
    .prefault({})
    .refine((a) => a.tls || a.address === '::1' || /^127\./.test(a.address), {
      message: 'plain HTTP (tls: false) is allowed only on a loopback address such as 127.0.0.1',
      path: ['tls'],
    }),
  /** The self-service portal for users (docs/portal.md): enrolment from an invitation, MFA,
   * keys, password. Off until turned on; its own listener. */
  portal: z
    .strictObject({
      enabled: z.boolean().default(false),
      address: address.default('0.0.0.0'),
      port: port.default(7466),
      /** HTTPS with the server's TLS certificate. Plain HTTP is accepted only on a loopback address. */
      tls: z.boolean().default(true),
      /** Reverse proxies whose X-Forwarded-For is believed (CIDRs); from anyone else it is ignored. */
      trustedProxies: z.array(cidr).default([]),
      /** The address users reach the portal at, for invitation links (e.g. https://files.example.com:7466). */
      publicUrl: z.url({ protocol: /^https?$/ }).nullable().default(null),
    })
    .prefault({})
    // SECURITY: invitation links carry their token: never over plain HTTP beyond this host, and
    // nothing in the URL that would end up before or after the token's path
    .refine((p) => p.publicUrl === null || publicUrlProblem(p.publicUrl) === null, {
      message: 'must be https:// (http:// only for localhost or a loopback address), without user, query or fragment',
      path: ['publicUrl'],
    })
    .refine((a) => a.tls || a.address === '::1' || /^127\./.test(a.address), {
      message: 'plain HTTP (tls: false) is allowed only on a loopback address such as 127.0.0.1',
      path: ['tls'],
    }),
  store: z
    .strictObject({
      driver: z.enum(['sqlite', 'postgres']).default('sqlite'),
      /** SQLite: file path (default DATADIR/portcullis.db). PostgreSQL: a postgres:// URL. */
      url: z.string().min(1).nullable().default(null),
    })
    .prefault({})
    .refine((s) => s.driver !== 'postgres' || (s.url !== null && /^postgres(ql)?:\/\//.test(s.url)), {
      message: 'must be a postgres:// URL when store.driver is postgres',
      path: ['url'],
    }),
  storage: z
    .strictObject({
      /** Where users' files live: `local` (each user's home on disk) or `s3` (one key prefix
       * per user in one bucket; docs/storage.md). */
      type: z.enum(['local', 's3']).default('local'),
      s3: z
        .strictObject({
          bucket: z.string().min(3).max(255).nullable().default(null),
          /** Each user's key prefix; {user} is the user name. Must contain {user} and end in "/". */
          prefix: z
            .string()
            .default('users/{user}/')
            // SECURITY: one prefix per user, never a shared one, and "/"-terminated so "bob" is not a prefix of "bobby".
            .refine((p) => p.includes('{user}') && p.endsWith('/') && !p.startsWith('/'), 'must contain {user}, end with "/" and not start with "/"'),
          /** Non-AWS servers (MinIO, Ceph RGW, Garage): their URL; null: AWS. */
          endpoint: z.url({ protocol: /^https?$/ }).nullable().default(null),
          region: z.string().min(1).default('us-east-1'),
          /** Path-style URLs (http://host/bucket/key), which most non-AWS servers need. */
          forcePathStyle: z.boolean().default(false),
        })
        .prefault({}),
    })
    .prefault({})
    .refine((s) => s.type !== 's3' || s.s3.bucket !== null, { message: 'storage.type s3 needs storage.s3.bucket', path: ['s3', 'bucket'] }),
  limits: z
    .strictObject({
      maxConnections: bounded(LIMITS.maxConnections),
      maxConnectionsPerAddress: bounded(LIMITS.maxConnectionsPerAddress),
      maxUnauthenticated: bounded(LIMITS.maxUnauthenticated),
      maxUnauthenticatedPerAddress: bounded(LIMITS.maxUnauthenticatedPerAddress),
      unauthenticatedDropFrom: bounded(LIMITS.unauthenticatedDropFrom),
      loginTimeoutMs: bounded(LIMITS.loginTimeoutMs, ' ms'),
      idleTimeoutMs: bounded(LIMITS.idleTimeoutMs, ' ms'),
      drainTimeoutMs: bounded(LIMITS.drainTimeoutMs, ' ms'),
      maxAuthAttempts: bounded(LIMITS.maxAuthAttempts),
      maxSessionsPerUser: bounded(LIMITS.maxSessionsPerUser),
    })
    .prefault({})
    .refine((l) => l.unauthenticatedDropFrom <= l.maxUnauthenticated, { message: 'must not be above limits.maxUnauthenticated', path: ['unauthenticatedDropFrom'] })
    .refine((l) => l.maxUnauthenticated <= l.maxConnections, { message: 'must not be above limits.maxConnections', path: ['maxUnauthenticated'] }),
  mfa: z
    .strictObject({
      /** Every user needs a second factor (a user's own setting overrides). On by default: a
       *  password or key alone never opens a session until the operator says otherwise. */
      required: z.boolean().default(true),
      /** PEM CA whose certificates naming a user (CN or SAN) are that user's FTPS second factor. */
      clientCaFile: z.string().min(1).nullable().default(null),
      /** Name shown in authenticator apps. */
      issuer: z.string().min(1).max(64).default('Portcullis'),
      /** Wrong codes within the window that lock the user's logins. */
      lockoutFailures: z.number().int().min(1).max(100).default(5),
      lockoutWindowMinutes: z.number().positive().max(1440).default(15),
      lockoutMinutes: z.number().positive().max(1440).default(15),
    })
    .prefault({}),
  access: z
    .strictObject({
      /** Only addresses on the allow list may connect. Off by default. */
      allowListMode: z.boolean().default(false),
      /** Entries: "203.0.113.0/24" or { cidr, protocols: [sftp, ftps] }. The CLI adds more. */
      allow: z.array(addressRule).default([]),
      /** Deny wins over allow. */
      deny: z.array(addressRule).default([]),
      /** Seconds between checks for rule and ban changes made by the CLI or other nodes. */
      refreshSeconds: z.number().min(0.1).max(3600).default(2),
      /** IPv6 clients are scored, banned, rate-limited and capped per prefix of this length (one
       * client controls at least a /64); 128 counts exact addresses. IPv4: per address. */
      ipv6Prefix: z.number().int().min(32).max(128).default(64),
    })
    .prefault({}),
  defender: z
    .strictObject({
      enabled: z.boolean().default(true),
      /** Points within the observation window that ban an address. */
      threshold: z.number().int().min(1).max(10_000).default(15),
      observationMinutes: z.number().positive().max(10_080).default(30),
      banMinutes: z.number().positive().max(525_600).default(30),
      /** Repeat offenders: each ban within a day doubles, up to this. */
      maxBanMinutes: z.number().positive().max(525_600).default(1440),
      scores: z
        .strictObject({
          wrongPassword: z.number().min(0).max(1000).default(1),
          unknownUser: z.number().min(0).max(1000).default(2),
          mfaFailure: z.number().min(0).max(1000).default(2),
          malformedInput: z.number().min(0).max(1000).default(3),
          /** A connection refused by the connection rate or the per-address cap: far less than a
           * wrong password, so honest bursts (rclone, curl loops, a NAT'd office) never ban, while a
           * flood (150 refusals in the window at the defaults) still does. */
          limitExceeded: z.number().min(0).max(1000).default(0.1),
        })
        .prefault({}),
      /** Addresses/CIDRs never scored nor banned (monitoring hosts, the office). */
      safeList: z.array(cidr).default([]),
      /** Count connection attempts during a ban towards extending it (off: they are only refused). */
      extendBanOnAttempt: z.boolean().default(false),
    })
    .prefault({}),
  rateLimits: z
    .strictObject({
      /** New connections per address per second (0: off). */
      connectionsPerSecond: z.number().int().min(0).max(100_000).default(10),
      /** Extra connections allowed above connectionsPerSecond within any 10 s (a token-bucket
       * burst: ssh-keyscan then sftp, rclone's parallel transfers, lftp reconnecting). */
      connectionBurst: z.number().int().min(0).max(100_000).default(40),
      /** Failed logins for a user name before its attempts slow down: counted per source
       * (address or IPv6 prefix) and name, and per name from every source; the per-name count
       * does not slow a source that logged in as that user successfully before. */
      userFailuresBeforeDelay: z.number().int().min(1).max(10_000).default(5),
      /** Window for counting a user name's failures, minutes. */
      userFailureWindowMinutes: z.number().positive().max(1440).default(15),
      /** The delay doubles per further failure, up to this, ms. */
      userMaxDelayMs: z.number().int().min(0).max(60_000).default(8_000),
    })
    .prefault({}),
  audit: z
    .strictObject({
      /** Write JSON lines to DATADIR/audit/audit.jsonl. */
      file: z.boolean().default(true),
      /** Keep audit records in the store (queried by `audit search`); it also keeps the chain head. */
      store: z.boolean().default(true),
      /** Rotate audit.jsonl when it would grow past this many bytes (the chain continues). */
      rotateBytes: bounded(LIMITS.auditRotateBytes, ' bytes'),
      /** Issue 14.6: `file.*` records per session and per user (all sessions) written per hour;
       * past it they are counted (audit.budget.exceeded, audit.records.suppressed). 0: no budget. */
      budget: z
        .strictObject({
          perSession: z.number().int().min(0).max(LIMITS.auditBudgetPerSession.ceiling).default(LIMITS.auditBudgetPerSession.default),
          perUser: z.number().int().min(0).max(LIMITS.auditBudgetPerUser.ceiling).default(LIMITS.auditBudgetPerUser.default),
        })
        .prefault({}),
      /** Rotated files kept: at most `files` of them (0: all) and none older than `days` (0: any
       * age). Removed files are named, with the hash that anchors the kept ones, in an
       * `audit.retention.removed` record. Default: keep everything (archive them elsewhere). */
      retention: z
        .strictObject({
          files: z.number().int().min(0).max(1_000_000).default(0),
          days: z.number().int().min(0).max(36_500).default(0),
        })
        .prefault({}),
    })
    .prefault({}),
  alerts: z
    .strictObject({
      /** The same alert (rule + subject) is sent at most once per this many minutes. */
      suppressMinutes: z.number().min(0).max(10_080).default(15),
      rules: z
        .strictObject({
          banAdded: z.boolean().default(true),
          mfaFailures: z.strictObject({ enabled: z.boolean().default(true), count: z.number().int().min(1).max(1000).default(3), windowMinutes: z.number().positive().max(1440).default(15) }).prefault({}),
          newAddressLogin: z.boolean().default(true),
          downloadVolume: z
            .strictObject({ enabled: z.boolean().default(true), bytes: z.number().int().min(1).default(1024 ** 3), windowMinutes: z.number().positive().max(10_080).default(60) })
            .prefault({}),
          adminChange: z.boolean().default(true),
          /** An audit budget exceeded (warning) or the trail unwritable, disk full (critical). */
          auditTrail: z.boolean().default(true),
          configReloadFailed: z.boolean().default(true),
          /** A scheduled scan found new findings at or above scans.alertSeverity. */
          scanNewFindings: z.boolean().default(true),
          /** A scheduled scan saw a certificate that expires within scans.certificateDays. */
          scanCertificateExpiry: z.boolean().default(true),
          /** A `portcullis posture` run scored lower than the previous one. */
          postureScoreDropped: z.boolean().default(true),
          /** The server's scheduled doctor run found a new warning or problem, or one went away. */
          doctorChange: z.boolean().default(true),
          certificateExpiry: z.strictObject({ enabled: z.boolean().default(true), days: z.number().int().min(1).max(365).default(14) }).prefault({}),
          /** More rules: an event name glob counted per user, address or overall within a window. */
          custom: z
            .array(
              z.strictObject({
                name: z.string().regex(/^[a-z0-9][a-z0-9-]{0,31}$/, 'must be 1-32 lower-case letters, digits or dashes'),
                event: z.string().min(1).max(100),
                count: z.number().int().min(1).max(100_000).default(1),
                windowMinutes: z.number().positive().max(10_080).default(10),
                per: z.enum(['user', 'address', 'all']).default('all'),
                severity: z.enum(['critical', 'warning', 'notice']).default('warning'),
              }),
            )
            .default([]),
        })
        .prefault({}),
      webhook: z
        .strictObject({
          /** http(s) URL receiving a JSON POST per alert; null: off. */
          url: z.url({ protocol: /^https?$/ }).nullable().default(null),
          /** HMAC-SHA256 key for the X-Portcullis-Signature header (at least 16 characters). */
          secret: z.string().min(16, 'must be at least 16 characters').nullable().default(null),
          maxAttempts: bounded(LIMITS.alertMaxAttempts),
          /** First retry delay; doubles per attempt, ms. */
          backoffMs: z.number().int().min(10).max(600_000).default(2000),
        })
        .prefault({})
        .refine((w) => w.url === null || w.secret !== null, { message: 'a webhook needs a secret to sign with', path: ['secret'] }),
      syslog: z
        .strictObject({
          /** Syslog server (RFC 5424); null: off. */
          host: z.string().min(1).nullable().default(null),
          port: port.default(514),
          transport: z.enum(['udp', 'tcp']).default('udp'),
          facility: z.enum(['kern', 'user', 'mail', 'daemon', 'auth', 'syslog', 'lpr', 'news', 'uucp', 'cron', 'authpriv', 'ftp', 'local0', 'local1', 'local2', 'local3', 'local4', 'local5', 'local6', 'local7']).default('authpriv'),
          appName: z.string().regex(/^[\x21-\x7e]{1,48}$/, 'must be 1-48 printable ASCII characters without spaces').default('portcullis'),
        })
        .prefault({}),
      email: z
        .strictObject({
          /** SMTP server; null: off. */
          host: z.string().min(1).nullable().default(null),
          port: port.default(587),
          /** TLS from the first byte (port 465); otherwise STARTTLS. */
          secure: z.boolean().default(false),
          /** Refuse to send without STARTTLS (when secure is false). */
          requireTLS: z.boolean().default(true),
          username: z.string().min(1).nullable().default(null),
          /** Prefer the environment variable PORTCULLIS_ALERTS__EMAIL__PASSWORD to the file. */
          password: z.string().min(1).nullable().default(null),
          from: z.string().min(3).default('portcullis@localhost'),
          to: z.array(z.string().min(3)).default([]),
        })
        .prefault({})
        .refine((e) => e.host === null || e.to.length > 0, { message: 'email alerts need at least one recipient', path: ['to'] }),
    })
    .prefault({}),
  scans: z
    .strictObject({
      /** The server scans on this cron schedule (UTC), stores every report and alerts on new findings; null: never. */
      schedule: cronSchedule.nullable().default('47 3 * * *'),
      /** Scan this server's own listeners (over loopback, trusting its own certificate). */
      ownListeners: z.boolean().default(true),
      /** More endpoints: legacy servers, partners. Credentials only by reference. */
      targets: z
        .array(
          z.strictObject({
            url: z.string().regex(/^(ftp|ftps|sftp):\/\/[^/@\s]+$/, 'must be ftp://host:port, ftps://host:port or sftp://host:port, without credentials'),
            /** Opt-in modes beyond passive and active-safe. */
            allow: z.array(z.enum(['writes', 'intrusive'])).default([]),
            user: z.string().min(1).nullable().default(null),
            /** Name of the environment variable that holds the password for `user` (never the password itself). */
            passwordEnv: z.string().regex(/^[A-Z_][A-Z0-9_]*$/, 'must be an environment variable name').nullable().default(null),
            /** Private key file for SSH checks that need credentials. */
            keyFile: z.string().min(1).nullable().default(null),
            /** Extra trusted CA (PEM) for this target. */
            caFile: z.string().min(1).nullable().default(null),
          }),
        )
        .default([]),
      /** New findings at or above this severity raise the `scan-new-findings` alert. */
      alertSeverity: z.enum(SEVERITIES).default('high'),
      /** A scanned certificate that expires within this many days raises `scan-certificate-expiry`. */
      certificateDays: z.number().int().min(1).max(365).default(30),
      timeoutSeconds: z.number().positive().max(600).default(10),
      targetTimeoutSeconds: z.number().positive().max(3600).default(120),
    })
    .prefault({}),
  doctor: z
    .strictObject({
      /** The server runs `doctor` on this cron schedule (UTC) and alerts when the result changes; null: never. */
      schedule: cronSchedule.nullable().default('17 4 * * *'),
      /** http(s) URL whose Date header the clock is compared with (TOTP needs the right time); null: not checked. */
      clockUrl: z.url({ protocol: /^https?$/ }).nullable().default(null),
      /** OSV advisories (a file, or a folder of OSV JSON files) instead of the bundled one. */
      advisoriesFile: z.string().min(1).nullable().default(null),
      /** Node.js lifecycle data instead of the bundled one (the format of src/posture/lifecycle.json). */
      lifecycleFile: z.string().min(1).nullable().default(null),
    })
    .prefault({}),
});

export type Config = z.infer<typeof configSchema>;
export type ConfigInput = z.input<typeof configSchema>;
