// Every hard cap of the scanner in one place (cf. vsftpd defs.h).

export const LIMITS = {
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
  /** Usernames tried when comparing replies for user enumeration. */
  enumerationNames: ['root', 'admin'] as const,
} as const;
