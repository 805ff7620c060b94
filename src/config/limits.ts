// Every hard limit of the server, in one place (vsftpd's defs.h is the model).
// Tunable values in the config default to the numbers here and are bounded by them:
// an operator may lower a cap, never raise it past its ceiling.

import os from 'node:os';

export const LIMITS = {
  // --- paths (virtual filesystem) ---
  /** Longest virtual path accepted, in UTF-8 bytes. */
  maxPathBytes: 4096,
  /** Longest single path component, in UTF-8 bytes (ext4 and most filesystems: 255). */
  maxNameBytes: 255,
  /** Deepest path accepted, in components. */
  maxPathDepth: 128,
  /** Entries returned per directory listing batch (listings are streamed in batches). */
  listBatchEntries: 512,
  /** Directory entries whose lstat runs at once while listing (the thread pool is shared by
   * every session: a big folder must not queue hundreds of calls ahead of everyone else). */
  listStatConcurrency: 32,
  /** Bytes of existing files one home may have copied into open resumed uploads (SFTP open
   * without TRUNC, REST+STOR, APPE) at once: the copy is work the client did not send. Released
   * when the upload is committed or aborted (issue 14.5). */
  resumeCopyBytesPerHome: 1024 * 1024 * 1024,
  /** Folders a session keeps held open (O_PATH) after using them (LocalVfs): many uploads or
   * downloads in one folder then skip opening and checking it each time. Each is a file
   * descriptor for as long as the session lasts (issue 21). */
  vfsHeldFoldersPerSession: 2,

  // --- object storage (src/vfs/s3.ts, docs/storage.md) ---
  /** Multipart part size: S3 needs at least 5 MiB per part but the last; 10000 parts at most,
   * so one upload is bounded at 80 GiB. */
  s3PartBytes: 8 * 1024 * 1024,
  /** Parts of one upload sent at the same time (each holds s3PartBytes in memory). */
  s3PartConcurrency: 2,
  /** Out-of-order SFTP write bytes one upload holds in memory before spilling to a temp file. */
  s3SpoolMemoryBytes: 8 * 1024 * 1024,
  /** Out-of-order bytes one upload may hold in its temp file (ERR_VFS_SPOOL_FULL beyond). */
  s3SpoolFileBytes: 256 * 1024 * 1024,
  /** Ranged GET size for reads at an offset (SFTP READ), and cached blocks per open file. */
  s3ReadBlockBytes: 1024 * 1024,
  s3ReadCacheBlocks: 4,
  /** Largest object renamed by one server-side CopyObject (the S3 API's own limit). */
  s3MaxCopyBytes: 5 * 1024 * 1024 * 1024,
  /** SDK attempts per request (throttling, 5xx), with its exponential back-off. */
  s3MaxAttempts: 5,

  // --- login throttle (distributed guessing of one user name) ---
  /** First delay once a name's failures pass rateLimits.userFailuresBeforeDelay; doubles per failure, ms. */
  throttleBaseDelayMs: 250,
  /** A source (address or IPv6 prefix) that logged in as a user is trusted for that user this long:
   * failures from elsewhere do not slow it (issue 14.12). */
  throttleTrustedSourceMs: 30 * 86_400_000,
  /** Names, (source, name) pairs and trusted pairs the throttle remembers; the oldest go first. */
  throttleMaxTracked: 100_000,

  // --- connections and admission ---
  /** Default and ceiling for simultaneous connections, all protocols together. */
  maxConnections: { default: 512, ceiling: 65_536 },
  /** Default and ceiling for simultaneous connections from one address. */
  maxConnectionsPerAddress: { default: 32, ceiling: 4_096 },
  /** Connections that have not authenticated yet, in total (OpenSSH MaxStartups' "full"). Kept
   * well below maxConnections: a flood of silent sockets cannot take every slot (issue 14.2). */
  maxUnauthenticated: { default: 128, ceiling: 65_536 },
  /** From this many waiting connections on, newcomers from an address that already has one
   * waiting are dropped at random (MaxStartups' "start"). */
  unauthenticatedDropFrom: { default: 64, ceiling: 65_536 },
  /** Probability of that drop at unauthenticatedDropFrom, rising to 1 at maxUnauthenticated. */
  preAuthDropRate: 0.3,
  /** Connections from one address (IPv6: prefix) that have not authenticated yet. */
  maxUnauthenticatedPerAddress: { default: 16, ceiling: 4_096 },
  /** Time to complete authentication after the socket is accepted (identification, key
   * exchange or TLS handshake, and login), ms. */
  loginTimeoutMs: { default: 60_000, min: 1_000, ceiling: 600_000 },
  /** On SIGTERM: new connections are refused at once, transfers in progress may finish for this
   * long before every session is closed (0: close at once), ms. */
  drainTimeoutMs: { default: 120_000, min: 0, ceiling: 3_600_000 },
  /** How often a drain logs what is still running, ms. */
  drainProgressMs: 5_000,
  /** A session slot on Redis lives this long unless its node renews it (every third of it):
   * a node that dies frees its users' slots within this time, ms. */
  clusterSlotLifetimeMs: 30_000,
  /** How long a node waits for the others to answer a session list or kill, ms. */
  clusterRequestMs: 1_500,
  /** Most worker processes `workers` may ask for (docs/workers.md). */
  maxWorkers: 64,
  /** A worker that dies is started again after this wait, doubled per death in a row up to
   * workerRestartMaxMs; a worker that served workerStableMs resets the wait, ms. */
  workerRestartBaseMs: 500,
  workerRestartMaxMs: 30_000,
  workerStableMs: 60_000,
  /** How long a worker waits for the primary to answer (a session slot, a score, a rate), ms:
   * past it the worker refuses (session slot, rate) rather than allow without the count. */
  workerRequestMs: 5_000,
  /** How long a worker may take from fork to listening, ms. */
  workerStartMs: 60_000,
  /** How often a worker reports its open connections and sessions to the primary, ms. */
  workerStatsMs: 1_000,
  /** A balancer in proxy.trustedAddresses sends its PROXY header within this time of accept, ms. */
  proxyHeaderTimeoutMs: 5_000,
  /** How long a server handing over (SIGUSR2) waits for its successor to be ready, ms. */
  handOverReadyMs: 60_000,
  /** SQLite's page cache for the store (users, keys, the audit trail), KiB. SQLite's own default;
   * better-sqlite3 raises it to 16 MiB, which the appended audit rows filled (issue 21). */
  sqliteCacheKiB: 2_048,
  /** After a connection closes, glibc's free memory is handed back to the system this much
   * later (src/net/memory-trim.ts): at most one malloc_trim per interval, ms. */
  memoryTrimDelayMs: 5_000,
  /** Idle time allowed on an authenticated connection with no transfer, ms. */
  idleTimeoutMs: { default: 900_000, min: 1_000, ceiling: 86_400_000 },
  /** Default and ceiling for simultaneous sessions of one user. */
  maxSessionsPerUser: { default: 64, ceiling: 4_096 },
  /** Authentication attempts (failed steps) allowed on one connection. */
  maxAuthAttempts: { default: 3, min: 1, ceiling: 10 },

  // --- FTP control channel ---
  /** Longest FTP command line including CRLF, bytes (vsftpd: 4096). */
  ftpMaxLineBytes: 4096,
  /** Overlong lines tolerated before the connection is closed. */
  ftpMaxOverlongLines: 3,
  /** Commands queued behind a running command or transfer before the connection is closed. */
  ftpMaxQueuedCommands: 32,
  /** Time for the client to open the data connection after a transfer command, ms. */
  ftpDataConnectTimeoutMs: 30_000,
  /** Time to complete a TLS handshake (control or data), ms. */
  ftpTlsHandshakeTimeoutMs: 15_000,
  /**
   * Plain FTP only (ftps.allowPlaintext): after an upload's data connection ends, time allowed for
   * its control connection to show that the client died with it (a killed client closes both;
   * without TLS a FIN cannot tell a complete upload from a truncated one), ms. Costs this much
   * per plain upload. Under TLS the client's close_notify tells, and nothing is waited for.
   */
  ftpUploadCommitGraceMs: 20,
  /** TLS sessions cached per control connection (for session-ID resumption on data connections). */
  ftpTlsSessionCacheEntries: 32,
  /** Bytes buffered on a TLS data connection before the transfer waits (back-pressure), each way. */
  ftpDataBufferBytes: 1024 * 1024,
  /**
   * Passive (PASV/EPSV) listeners waiting for their data connection, per user and per client
   * address, over all their sessions (a session has at most one: a new PASV/EPSV closes the
   * last). Bounds how much of ftps.passivePorts a few accounts can hold.
   */
  ftpPassivePendingPerUser: 8,
  ftpPassivePendingPerAddress: 16,
  /** A passive listener not taken by a transfer command within this time is closed, ms. */
  ftpPassivePendingTimeoutMs: 20_000,
  /**
   * Control-connection output: bytes of replies (a STAT listing included) waiting for a client
   * that does not read, beyond which the connection is dropped, and the time a reply may wait
   * for the client to read before the connection is dropped, ms. Replies are written with
   * back-pressure: the next command runs, and the next part of a listing is read from disk,
   * only once the client has read the last.
   */
  ftpMaxOutputBytes: 256 * 1024,
  ftpOutputStallTimeoutMs: 60_000,
  /** Bytes of a long multi-line reply (a STAT listing) gathered before each write. */
  ftpReplyChunkBytes: 16 * 1024,

  // --- SFTP ---
  /** Bytes of a new SSH connection read beside ssh2 to find the client's KEXINIT (to explain a
   * key-exchange refusal); RFC 4253 6.1: 35000 is the largest packet every side must accept. */
  sshKexInitMaxBytes: 35_000,
  /** Largest SFTP packet accepted, bytes (limits@openssh.com max-packet-length). */
  sftpMaxPacketBytes: 256 * 1024 + 1024,
  /** Largest read or write payload per request, bytes (255 KiB, as OpenSSH). */
  sftpMaxReadWriteBytes: 255 * 1024,
  /** SFTP buffers (~257 KiB each: a READ reply or a large request being reassembled) kept
   * for reuse, for the whole process: 32 is 8 MiB at most, whatever the number of sessions. */
  sftpPooledBuffers: 32,
  /** SFTP buffers of the small class (33 KiB: a READ reply or a WRITE request of up to 32 KiB,
   * the size OpenSSH's sftp, paramiko and most clients use) kept for reuse, for the whole
   * process: 128 is 4.1 MiB at most. One session of OpenSSH's sftp keeps 64 READs in flight;
   * a smaller pool than that churns, and every fresh buffer is external memory that V8
   * answers with mark-compacts (bench/sftp-download-cpu.ts). */
  sftpPooledSmallBuffers: 128,
  /** READ/WRITE requests in flight at once per SFTP session. */
  sftpMaxParallelIo: 64,
  /** Bytes of READ replies one SFTP session holds at once, from the file read until the channel
   * has sent them (16 of OpenSSH's 255 KiB READs; twice the 2 MiB window OpenSSH's client
   * opens). Without it a session held 64 × 255 KiB = 16 MiB, mostly waiting for window, and
   * overflowed the process-wide buffer pool. A READ that alone exceeds it still runs. */
  sftpMaxReadBytesInFlight: 4 * 1024 * 1024,
  /** Parsed SFTP requests waiting to run before the channel is paused (back-pressure). */
  sftpMaxQueuedRequests: 128,
  /** Entries per READDIR reply, and a soft cap on the reply's size. */
  sftpReaddirBatchEntries: 128,
  sftpReaddirSoftBytes: 64 * 1024,
  /** Longest handle string accepted (draft: at most 256 bytes). */
  sftpMaxHandleBytes: 256,
  /** Extended attributes accepted in one ATTRS structure. */
  sftpMaxExtendedAttributes: 64,
  /** Open file and directory handles per SFTP session. */
  sftpMaxOpenHandles: 256,
  /** Session channels open at once on one SSH connection, from CHANNEL_OPEN to close, whether
   * or not they ever ran SFTP or SCP (OpenSSH's MaxSessions is 10; rclone opens several).
   * Each SFTP/SCP channel is also one session of the user (limits.maxSessionsPerUser). */
  sshMaxChannelsPerConnection: 8,

  // --- legacy SCP (exec "scp -t|-f", OpenSSH before 9.0 and scp -O) ---
  /** Longest SCP header line ("C0644 <size> <name>", "T...", "D..."), bytes without the LF:
   * longer is a protocol error, never truncated. A 255-byte name fits with room to spare. */
  scpMaxLineBytes: 1024,
  /** Directories nested inside one another in one transfer ("D" without its "E"). */
  scpMaxDepth: 64,
  /** Bytes read from a file per chunk when sending it. */
  scpChunkBytes: 64 * 1024,
  /** Bytes taken from the channel and not yet written before reading pauses (back-pressure:
   * ssh2 then stops opening the channel window). */
  scpMaxBufferedBytes: 256 * 1024,

  // --- credentials ---
  /** Longest password accepted before hashing, bytes (bounds argon2 input and FTP PASS). */
  maxPasswordBytes: 1024,
  /** Longest user name, characters. */
  maxUserNameLength: 64,
  /** Longest public key line accepted, bytes. */
  maxPublicKeyBytes: 16 * 1024,
  /** Argon2id parameters (OWASP: m=19456 KiB, t=2, p=1). */
  argon2: { memoryCost: 19_456, timeCost: 2, parallelism: 1 },
  /** Password verifications run at once (src/auth/verification-queue.ts); more wait, clean
   * addresses first. One per core: argon2 is CPU-bound, and libuv's pool also serves file I/O. */
  passwordVerifyConcurrency: Math.max(1, Math.min(4, os.availableParallelism())),

  // --- identity ---
  /** RSA modulus size for generated host keys. */
  rsaHostKeyBits: 3072,
  /** Validity of the generated self-signed TLS certificate, days. */
  selfSignedCertDays: 397,

  // --- store ---
  /** SQLite statements kept prepared (kysely prepares every query it runs; the audit trail's
   * transaction and the login lookups are the same few texts each time), least recently used
   * out first. */
  storeSqliteStatements: 128,

  // --- audit ---
  /** Largest audit record written, bytes (oversized detail fields are truncated). */
  maxAuditRecordBytes: 16 * 1024,
  /** Records sealed and written in one transaction. */
  auditBatchRecords: 500,
  /** Least time between two audit transactions while records keep coming, ms (a record
   * after a quiet spell, a full batch, a flush and a shutdown are written at once). One
   * transaction per record costs ~0.3-0.5 ms of CPU; gathered, ~35-40 µs a record (10 a
   * transaction; it was 60-90 before the statements were kept prepared, issue 21). A process
   * killed with SIGKILL loses at most this much more than before. */
  auditFlushDelayMs: 20,
  /** Default and bounds for the size at which audit.jsonl is rotated, bytes. */
  auditRotateBytes: { default: 64 * 1024 * 1024, min: 4096, ceiling: 4 * 1024 * 1024 * 1024 },
  /** Issue 14.6: identical failures (session, event, code, path pattern) within this interval
   * are one full record plus one `audit.records.aggregated` with the count, ms. */
  auditAggregateIntervalMs: 60_000,
  /** Aggregation groups tracked at once; the oldest is summarised first beyond this. */
  auditAggregateMaxGroups: 10_000,
  /** Window of the per-session and per-user audit budgets, ms. */
  auditBudgetWindowMs: 3_600_000,
  /** `file.*` records one session may write per window (audit.budget.perSession), default and
   * ceiling (0 turns the budget off); past it they are counted into `audit.records.suppressed`. */
  auditBudgetPerSession: { default: 20_000, ceiling: 1_000_000 },
  /** The same for one user over all their sessions (audit.budget.perUser). */
  auditBudgetPerUser: { default: 50_000, ceiling: 10_000_000 },
  /** Records kept in memory while the trail cannot be written (disk full); beyond, they are
   * counted by event and the count is written once writing works again. */
  auditPendingMaxRecords: 50_000,
  /** Time between two attempts to write a trail that failed (disk full), ms. */
  auditRetryMs: 1_000,
  /** Records `audit search` prints at most. */
  auditSearchMaxRows: 100_000,

  // --- monitoring ---
  /** Alerts waiting for delivery per channel; older ones are dropped (and counted) beyond this. */
  alertQueueMax: 1000,
  /** Delivery attempts per alert per channel (the first plus retries). */
  alertMaxAttempts: { default: 5, min: 1, ceiling: 20 },
  /** Time for one webhook POST or SMTP/syslog TCP exchange, ms. */
  alertTimeoutMs: 10_000,
  /** Longest syslog message sent, bytes (RFC 5426: receivers should accept 2048). */
  syslogMaxMessageBytes: 2048,
  /** Longest request line on the control socket, bytes. */
  controlMaxLineBytes: 4096,
  /** Longest Unix socket path (sun_path is 108 bytes on Linux, with the NUL). */
  controlMaxSocketPathBytes: 107,
  /**
   * `portcullis posture` scans this server from loopback: for at most this long the defender
   * neither scores nor rate-limits loopback addresses (asked for over the 0600 control socket).
   */
  postureSelfScanMaxMs: 180_000,

  // --- admin plane (services, API tokens, REST API) ---
  /** Longest home directory an admin may give, characters. */
  maxAdminHomeLength: 1024,
  /** Client certificates pinned to one user. */
  maxClientCertPins: 32,
  /** API tokens in the store (revoked ones included until removed). */
  maxApiTokens: 1000,
  /** Longest API token name, characters. */
  maxApiTokenNameLength: 64,
  /** Addresses/CIDRs one API token may be used from. */
  maxApiTokenSources: 32,
  /** Longest API token lifetime, days. */
  maxApiTokenDays: 3650,
  /** Largest REST API request body, bytes (a public key line is at most 16 KiB). */
  apiMaxBodyBytes: 32 * 1024,
  /** Longest Authorization header accepted, bytes. */
  apiMaxAuthHeaderBytes: 512,
  /** REST API: connections at once, and time for a whole request, ms. */
  apiMaxConnections: 64,
  apiRequestTimeoutMs: 30_000,
  /** Nesting of JSON bodies (objects/arrays). */
  apiMaxJsonDepth: 16,
  /** Page size of list endpoints: default and most. */
  apiPageSize: { default: 100, ceiling: 1000 },
  // --- the web plane: web admin and portal (docs/web.md) ---
  web: {
    /** Browser sessions: idle and absolute lifetime per plane, ms (admins: 15 min idle). */
    session: {
      admin: { idleMs: 15 * 60_000, absoluteMs: 8 * 3_600_000 },
      portal: { idleMs: 30 * 60_000, absoluteMs: 12 * 3_600_000 },
    },
    /** Between the password and the code of one sign-in, ms. */
    secondFactorMs: 5 * 60_000,
    /** Sensitive actions (MFA reset, admin creation, export, password change) need the password
     * and a code again if the last proof is older than this, ms. */
    reauthMs: 5 * 60_000,
    /** Form bodies (application/x-www-form-urlencoded), bytes. */
    maxFormBytes: 32 * 1024,
    /** A form field, characters (a public key line is at most 16 KiB). */
    maxFieldChars: 16 * 1024,
    /** Admin accounts: failed sign-ins (password or code) in a row before the account is locked, and for how long, ms. */
    adminLockoutFailures: 5,
    adminLockoutMs: 15 * 60_000,
    /** Rows on a list page (users, audit records). */
    pageRows: 200,
    /** Expired sessions are swept this often, ms. */
    sweepMs: 60_000,
  },
  // --- doctor (what to patch, what is about to break) ---
  doctor: {
    /** Free space (and free inodes) under the data dir or a home below this share: a warning; below the second: a problem, percent. */
    diskWarnPercent: 10,
    diskProblemPercent: 5,
    /** The same in absolute bytes: whichever of share and bytes is hit first counts. */
    diskWarnBytes: 5 * 1024 ** 3,
    diskProblemBytes: 1024 ** 3,
    /** Clock offset from the configured reference: TOTP accepts one 30 s step either side, so
     * 10 s is a warning and 25 s a problem (codes start failing soon after), ms. */
    clockWarnMs: 10_000,
    clockProblemMs: 25_000,
    /** Time for the clock reference's HTTP answer, ms. */
    clockTimeoutMs: 5_000,
    /** Certificate or CA that ends within this many days: a warning; within the second: a problem. */
    certificateWarnDays: 30,
    certificateProblemDays: 7,
    /** A Node.js line that reaches end of life within this many days: a warning. */
    runtimeEolWarnDays: 90,
    /** Advisory or lifecycle data older than this many days: a warning (verdicts go stale). */
    dataMaxAgeDays: 90,
    /** An advisories directory (an OSV export, a github/advisory-database checkout) is read up to
     * this many JSON files, and each file up to this many bytes. */
    advisoryMaxFiles: 500_000,
    advisoryMaxFileBytes: 4 * 1024 * 1024,
    /** Distinct homes whose filesystem is checked (users share filesystems; they are grouped). */
    maxHomes: 10_000,
  },

  // --- scanner (outbound probes) ---
  /** `portcullis migrate iis`: the largest applicationHost.config / administration.config read
   * (real ones are well under 1 MB), the deepest element nesting accepted, and how long an
   * enrolment invitation may stay valid. */
  migrate: {
    maxConfigBytes: 32 * 1024 * 1024,
    maxXmlDepth: 64,
    inviteDays: { default: 14, min: 1, ceiling: 90 },
  },
  scanner: {
    /** Longest evidence line or reason kept in a report (server text and library errors are cleaned
     * to one line and cut here, with an ellipsis). */
    maxEvidenceChars: 600,
    /** Text reports wrap evidence at this width. */
    textWrapColumns: 100,
    /** Longest control line accepted from a server; longer is a protocol error, never truncated. */
    maxLineBytes: 4096,
    /** Most lines in one multi-line FTP reply (FEAT, STAT, HELP). */
    maxReplyLines: 200,
    /** Largest directory listing read over a data channel. */
    maxListingBytes: 64 * 1024,
    /** SSH identification: pre-banner lines and line length (RFC 4253 §4.2). */
    maxSshPreBannerLines: 20,
    maxSshIdentBytes: 255,
    /** Largest SSH binary packet accepted while reading KEXINIT. */
    maxSshPacketBytes: 35000,
    /** Connections open at the same time to one target. */
    maxParallelConnectionsPerTarget: 3,
    /** Connections opened in total to one target during one scan. */
    maxConnectionsPerTarget: 60,
    /** Default per-operation timeout (connect, one reply, one handshake), seconds. */
    defaultTimeoutSeconds: 10,
    /** Default wall-clock budget for one target, seconds. */
    defaultTargetTimeoutSeconds: 120,
    /** Targets scanned at the same time. */
    defaultConcurrency: 4,
    maxConcurrency: 32,
    /** Raw TLS probes (check 29): largest TLS record accepted (RFC 5246 §6.2.3: 2^14 + 2048). */
    maxTlsRecordBytes: 16384 + 2048,
    /** Largest SSLv2 record accepted (2-byte header: 15-bit length). */
    maxSsl2RecordBytes: 32767,
    /** Most handshake bytes (ServerHello … ServerHelloDone, certificates included) read in one probe. */
    maxTlsHandshakeBytes: 128 * 1024,
    /** Most bytes read from the server in one raw TLS probe, whatever they are. */
    maxTlsProbeBytes: 256 * 1024,
    /** How long a raw TLS probe waits for an answer whose absence is the verdict (no alert, no heartbeat). */
    tlsQuietWindowMs: 3000,
    /** Usernames tried when comparing replies for user enumeration. */
    enumerationNames: ['root', 'admin'] as const,
  },
} as const;
