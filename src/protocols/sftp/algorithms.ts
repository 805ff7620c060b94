// The SSH algorithm lists we offer. Defaults are modern only and pass ssh-audit with no
// [fail] and no [warn]; older algorithms are enabled one by one in `sftp.legacyAlgorithms`
// and warned about at every start.
import type { Algorithms } from 'ssh2';

/** Algorithms an operator may add back, each for a named client population. */
export const LEGACY_ALGORITHMS = [
  // kex: NIST curves (ssh-audit: "using weak elliptic curves")
  'ecdh-sha2-nistp256',
  'ecdh-sha2-nistp384',
  'ecdh-sha2-nistp521',
  // MACs in encrypt-and-MAC mode (ssh-audit warns); curl/libssh2 1.10 knows no -etm MAC
  'hmac-sha2-256',
  'hmac-sha2-512',
  // SHA-1 RSA signatures on user keys (curl/libssh2 with an RSA key, quirk 4)
  'ssh-rsa',
] as const;
export type LegacyAlgorithm = (typeof LEGACY_ALGORITHMS)[number];

export const DEFAULT_KEX = [
  'curve25519-sha256',
  'curve25519-sha256@libssh.org', // paramiko 2.12 knows only this name (quirk 2)
  'diffie-hellman-group16-sha512',
  'diffie-hellman-group18-sha512',
  'diffie-hellman-group14-sha256',
];

export const DEFAULT_CIPHERS = [
  'aes128-gcm@openssh.com',
  'aes256-gcm@openssh.com',
  'chacha20-poly1305@openssh.com', // Terrapin-safe here: strict KEX is always offered
  // paramiko 2.12 and libssh2 1.10 have no AEAD cipher (quirk 1)
  'aes128-ctr',
  'aes192-ctr',
  'aes256-ctr',
];

export const DEFAULT_MACS = ['hmac-sha2-256-etm@openssh.com', 'hmac-sha2-512-etm@openssh.com'];

/** Host-key signature algorithms (the keys themselves: ed25519 and RSA from the data dir). */
export const HOST_KEY_ALGORITHMS = ['ssh-ed25519', 'rsa-sha2-512', 'rsa-sha2-256'] as const;

/** Signature algorithms accepted on user keys (before `sftp.legacyAlgorithms`). */
export const USER_KEY_SIGNATURES = ['ssh-ed25519', 'ecdsa-sha2-nistp256', 'ecdsa-sha2-nistp384', 'ecdsa-sha2-nistp521', 'rsa-sha2-512', 'rsa-sha2-256'] as const;

export interface AlgorithmSelection {
  algorithms: Algorithms;
  /** Accept SHA-1 `ssh-rsa` signatures from user keys. */
  sha1UserSignatures: boolean;
  /** Exactly the user-key signature algorithms accepted: the `server-sig-algs` extension. */
  userKeySignatures: string[];
}

export function selectAlgorithms(legacy: readonly LegacyAlgorithm[]): AlgorithmSelection {
  const on = new Set(legacy);
  const kex = [...DEFAULT_KEX, ...(['ecdh-sha2-nistp256', 'ecdh-sha2-nistp384', 'ecdh-sha2-nistp521'] as const).filter((a) => on.has(a))];
  const hmac = [...DEFAULT_MACS, ...(['hmac-sha2-256', 'hmac-sha2-512'] as const).filter((a) => on.has(a))];
  return {
    algorithms: {
      kex: kex as Algorithms['kex'],
      cipher: DEFAULT_CIPHERS as Algorithms['cipher'],
      hmac: hmac as Algorithms['hmac'],
      serverHostKey: [...HOST_KEY_ALGORITHMS] as Algorithms['serverHostKey'],
      compress: ['none'],
    },
    sha1UserSignatures: on.has('ssh-rsa'),
    userKeySignatures: [...USER_KEY_SIGNATURES, ...(on.has('ssh-rsa') ? ['ssh-rsa'] : [])],
  };
}

/** One line per enabled legacy algorithm, for the start-up warning. */
export function describeLegacy(legacy: readonly LegacyAlgorithm[]): string | null {
  return legacy.length === 0 ? null : `sftp.legacyAlgorithms enables weaker SSH algorithms: ${[...new Set(legacy)].join(', ')}`;
}
