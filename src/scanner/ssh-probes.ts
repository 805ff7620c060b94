// SSH/SFTP probes: checks 32-41, 44. Algorithms come from the server's raw KEXINIT; host keys and
// auth methods from the ssh2 client.
import { randomBytes } from 'node:crypto';
import { Client, type Algorithms, type ConnectConfig } from 'ssh2';
import { identifySsh, parseSshIdent } from './banner.ts';
import type { TargetScan } from './context.ts';
import { errorMessage } from './errors.ts';
import { connectTcp } from './ftp-client.ts';
import { checkAdvisories, checkExposure, checkVersionDisclosure, DEFAULT_CREDENTIALS } from './service-checks.ts';
import { parseHostKeyBlob, readHello, type KexInit } from './ssh-wire.ts';

export const SSH_CHECKS = [
  'ssh.protocol-v1', 'ssh.weak-kex', 'ssh.weak-cipher', 'ssh.weak-mac', 'ssh.weak-hostkey-algorithm',
  'ssh.small-hostkey', 'ssh.password-auth', 'ssh.terrapin', 'svc.version-disclosure',
  'svc.vulnerable-version', 'svc.exposed-service',
] as const;

/** Checks that guess passwords: only with --allow intrusive. */
export const SSH_INTRUSIVE_CHECKS = ['auth.default-credentials', 'auth.no-bruteforce-protection'] as const;

const CLIENT_IDENT = 'SSH-2.0-PortcullisScan_0.1';

export function weakKex(names: string[]): string[] {
  return names.filter(
    (n) =>
      /^diffie-hellman-group1-sha1$|^diffie-hellman-group14-sha1$|^diffie-hellman-group-exchange-sha1$|^rsa1024-sha1$/.test(n) ||
      (/^gss-/.test(n) && /sha1/.test(n)),
  );
}

export function weakCiphers(names: string[]): string[] {
  return names.filter((n) => /-cbc(@|$)/.test(n) || /^arcfour/.test(n) || /^(blowfish|cast128|3des|des)/.test(n) || n === 'none' || n === 'rijndael-cbc@lysator.liu.se');
}

export function weakMacs(names: string[]): string[] {
  return names.filter((n) => /^hmac-md5/.test(n) || /^hmac-sha1-96/.test(n) || /^umac-64/.test(n) || /^hmac-ripemd160/.test(n) || n === 'hmac-sha1' || n === 'none');
}

export function weakHostKeyAlgorithms(names: string[]): string[] {
  return names.filter((n) => /^ssh-dss/.test(n) || n === 'ssh-rsa' || n === 'ssh-rsa-cert-v01@openssh.com');
}

export function terrapin(k: KexInit): { vulnerable: boolean; evidence: string } {
  const ciphers = [...new Set([...k.ciphersC2S, ...k.ciphersS2C])];
  const macs = [...new Set([...k.macsC2S, ...k.macsS2C])];
  const chacha = ciphers.includes('chacha20-poly1305@openssh.com');
  const cbcEtm = ciphers.some((c) => /-cbc(@|$)/.test(c)) && macs.some((m) => /-etm@openssh\.com$/.test(m));
  const strict = k.kex.includes('kex-strict-s-v00@openssh.com');
  const pre = [chacha ? 'chacha20-poly1305@openssh.com offered' : '', cbcEtm ? 'CBC cipher with an -etm MAC offered' : ''].filter(Boolean).join(', ');
  if (!chacha && !cbcEtm) return { vulnerable: false, evidence: 'neither chacha20-poly1305 nor CBC+EtM offered' };
  if (strict) return { vulnerable: false, evidence: `${pre}, but strict key exchange (kex-strict-s-v00@openssh.com) is offered` };
  return { vulnerable: true, evidence: `${pre} without kex-strict-s-v00@openssh.com` };
}

/** Everything ssh2 can speak, so that legacy servers can still be probed. */
const PROBE_ALGORITHMS: Algorithms = {
  kex: [
    'curve25519-sha256', 'curve25519-sha256@libssh.org', 'ecdh-sha2-nistp256', 'ecdh-sha2-nistp384', 'ecdh-sha2-nistp521',
    'diffie-hellman-group-exchange-sha256', 'diffie-hellman-group14-sha256', 'diffie-hellman-group15-sha512',
    'diffie-hellman-group16-sha512', 'diffie-hellman-group17-sha512', 'diffie-hellman-group18-sha512',
    'diffie-hellman-group-exchange-sha1', 'diffie-hellman-group14-sha1', 'diffie-hellman-group1-sha1',
  ],
  cipher: [
    'aes128-gcm@openssh.com', 'aes256-gcm@openssh.com', 'chacha20-poly1305@openssh.com', 'aes128-ctr', 'aes192-ctr', 'aes256-ctr',
    'aes256-cbc', 'aes192-cbc', 'aes128-cbc', '3des-cbc',
  ],
  hmac: ['hmac-sha2-256-etm@openssh.com', 'hmac-sha2-512-etm@openssh.com', 'hmac-sha1-etm@openssh.com', 'hmac-sha2-256', 'hmac-sha2-512', 'hmac-sha1', 'hmac-md5'],
};

/** Host-key algorithm to request for each key type the server offers. */
function hostKeyProbes(offered: string[]): { keyType: string; alg: string }[] {
  const out: { keyType: string; alg: string }[] = [];
  const rsa = ['rsa-sha2-512', 'rsa-sha2-256', 'ssh-rsa'].find((a) => offered.includes(a));
  if (rsa) out.push({ keyType: 'ssh-rsa', alg: rsa });
  for (const a of ['ssh-dss', 'ecdsa-sha2-nistp256', 'ecdsa-sha2-nistp384', 'ecdsa-sha2-nistp521', 'ssh-ed25519']) {
    if (offered.includes(a)) out.push({ keyType: a, alg: a });
  }
  return out;
}

function sshConfig(s: TargetScan, extra: Partial<ConnectConfig>): ConnectConfig {
  return {
    host: s.target.host,
    port: s.target.port,
    readyTimeout: s.options.timeoutMs,
    algorithms: PROBE_ALGORITHMS,
    ...extra,
  };
}

/**
 * One ssh2 client connection under the target's budget and timeout. `setup` wires the client and
 * returns its ssh2 config; it calls `done(value)` once it has what it came for. The connection
 * is always ended; no value means the probe failed with `missing`.
 */
async function probeSsh<T>(s: TargetScan, missing: string, setup: (c: Client, done: (value: T) => void) => Parameters<typeof sshConfig>[1]): Promise<T> {
  const release = await s.budget.acquire();
  try {
    return await new Promise<T>((resolve, reject) => {
      const c = new Client();
      let value: { v: T } | undefined;
      const timer = setTimeout(() => finish(new Error('timed out')), s.options.timeoutMs);
      function finish(err?: Error): void {
        clearTimeout(timer);
        c.removeAllListeners('error');
        c.on('error', () => undefined);
        c.end();
        if (value) resolve(value.v);
        else reject(err ?? new Error(missing));
      }
      c.on('error', (err) => finish(err));
      c.on('close', () => finish());
      const done = (v: T) => {
        value = { v };
        setImmediate(() => finish());
      };
      c.connect(sshConfig(s, setup(c, done)));
    });
  } finally {
    release();
  }
}

/** Complete a key exchange for one host-key algorithm and return the key the server presented. */
function fetchHostKey(s: TargetScan, alg: string): Promise<Buffer> {
  return probeSsh<Buffer>(s, 'no host key', (_c, done) => ({
    username: 'portcullis-scan',
    algorithms: { ...PROBE_ALGORITHMS, serverHostKey: [alg as never] },
    hostVerifier: (k: Buffer) => {
      done(k);
      return false; // never authenticate: we only wanted the key
    },
  }));
}

/** The methods a `none` request for a random user is offered. */
function authMethods(s: TargetScan): Promise<string[]> {
  const username = `pcscan${randomBytes(5).toString('hex')}`;
  return probeSsh<string[]>(s, 'no userauth failure received', (c, done) => {
    c.on('ready', () => done(['none (login without credentials succeeded)']));
    return {
      username,
      hostVerifier: () => true,
      authHandler: (left, _partial, next) => {
        if (left === null || left === undefined) return next({ type: 'none', username } as never);
        done(left);
        return next(false as never);
      },
    };
  });
}

type PasswordOutcome = { kind: 'full' } | { kind: 'partial' | 'refused'; methods: string[] };

/**
 * The operator's password alone, with the password method (never keyboard-interactive, never a
 * code): a full login, a partial success (RFC 4252 §5.1: another method is required), or a refusal.
 * SECURITY: only ever sent inside the SSH transport, and only when the operator gave it.
 */
function passwordAlone(s: TargetScan, username: string, password: string): Promise<PasswordOutcome> {
  return probeSsh<PasswordOutcome>(s, 'no answer to the password request', (c, done) => {
    let tried = false;
    c.on('ready', () => done({ kind: 'full' }));
    return {
      username,
      hostVerifier: () => true,
      authHandler: (left, partial, next) => {
        if (!tried) {
          tried = true;
          return next({ type: 'password', username, password } as never);
        }
        done({ kind: partial ? 'partial' : 'refused', methods: left ?? [] });
        return next(false as never);
      },
    };
  });
}

/**
 * A password through whichever password-style method the server offers: `password`, else
 * `keyboard-interactive` with the password as the answer to a single prompt (PAM's usual form).
 */
function passwordLogin(s: TargetScan, username: string, password: string): Promise<PasswordOutcome> {
  return probeSsh<PasswordOutcome>(s, 'no answer to the login', (c, done) => {
    let tried = false;
    c.on('ready', () => done({ kind: 'full' }));
    c.on('keyboard-interactive', (_name, _instructions, _lang, prompts, finish) => finish(prompts.length === 1 ? [password] : prompts.map(() => '')));
    return {
      username,
      hostVerifier: () => true,
      tryKeyboard: true,
      authHandler: (left, partial, next) => {
        if (!tried && left) {
          tried = true;
          if (left.includes('password')) return next({ type: 'password', username, password } as never);
          if (left.includes('keyboard-interactive')) return next({ type: 'keyboard-interactive', username, prompt: (_n: unknown, _i: unknown, _l: unknown, _p: unknown, f: (a: string[]) => void) => f([password]) } as never);
        }
        if (!tried) return next({ type: 'none', username } as never);
        done({ kind: partial ? 'partial' : 'refused', methods: left ?? [] });
        return next(false as never);
      },
    };
  });
}

const PASSWORD_METHODS = ['password', 'keyboard-interactive'];

/** 42 (intrusive): the same vendor/default pairs as FTP, one connection each, strictly bounded. */
async function probeSshDefaultCredentials(s: TargetScan, methods: string[]): Promise<void> {
  const id = 'auth.default-credentials';
  if (!methods.some((m) => PASSWORD_METHODS.includes(m))) {
    s.notApplicable(id, `no password method offered (${methods.join(', ')}): there is no password to guess`);
    return;
  }
  const full: string[] = [];
  const firstFactor: string[] = [];
  const evidence: string[] = [];
  try {
    for (const [user, pass] of DEFAULT_CREDENTIALS) {
      const r = await passwordLogin(s, user, pass);
      evidence.push(`${user}/${'*'.repeat(pass.length)}: ${r.kind === 'full' ? 'login completed' : r.kind === 'partial' ? `accepted as a first factor; then ${r.methods.join(', ')} required` : 'refused'}`);
      if (r.kind === 'full') full.push(user);
      else if (r.kind === 'partial') firstFactor.push(user);
    }
    if (full.length) s.fail(id, [`default credentials completed a login for: ${full.join(', ')}`, ...evidence]);
    else if (firstFactor.length) s.fail(id, [`default passwords accepted as a first factor for: ${firstFactor.join(', ')} (a second factor stopped the login)`, ...evidence], { severity: 'high' });
    else s.pass(id, `${evidence.length} default pairs refused`, ...evidence);
  } catch (err) {
    s.error(id, `probe failed: ${errorMessage(err)}`, 'probe-failed', evidence);
  }
}

/**
 * 43 (intrusive): wrong passwords for a random user on one connection. A disconnect before the
 * seventh attempt (OpenSSH's MaxAuthTries 6 ends the connection after the sixth failure) or a
 * growing delay is protection.
 */
async function probeSshBruteForce(s: TargetScan, methods: string[]): Promise<void> {
  const id = 'auth.no-bruteforce-protection';
  const method = PASSWORD_METHODS.find((m) => methods.includes(m));
  if (!method) {
    s.notApplicable(id, `no password method offered (${methods.join(', ')}): there is no password to guess`);
    return;
  }
  const attempts = 7;
  const username = `pcscan${randomBytes(5).toString('hex')}`;
  const times: number[] = [];
  const evidence: string[] = [];
  try {
    let closedWith = '';
    const answered = await probeSsh<number>(s, 'no answer to the login attempts', (c, done) => {
      let sent = 0;
      let sentAt = 0;
      // A disconnect ("Too many authentication failures") arrives as an error: it is the answer.
      c.prependListener('error', (err: Error) => {
        closedWith = `: ${errorMessage(err)}`;
        done(sent);
      });
      c.on('close', () => done(sent));
      return {
        username,
        hostVerifier: () => true,
        tryKeyboard: method === 'keyboard-interactive',
        authHandler: (_left, _partial, next) => {
          if (sent > 0) {
            times.push(Date.now() - sentAt);
            evidence.push(`attempt ${sent}: refused (${times.at(-1)} ms)`);
          }
          if (sent >= attempts) {
            done(sent);
            return next(false as never);
          }
          sent++;
          sentAt = Date.now();
          const password = randomBytes(9).toString('base64url');
          if (method === 'password') return next({ type: 'password', username, password } as never);
          return next({ type: 'keyboard-interactive', username, prompt: (_n: unknown, _i: unknown, _l: unknown, _p: unknown, f: (a: string[]) => void) => f([password]) } as never);
        },
      };
    });
    if (times.length < attempts) {
      s.pass(id, `the server closed the connection at attempt ${answered} (after ${times.length} refusal${times.length === 1 ? '' : 's'})${closedWith}`, ...evidence);
      return;
    }
    const first = times[0]!;
    const last = times.at(-1)!;
    if (last >= 1000 && last > 2 * Math.max(first, 100)) s.pass(id, `growing delay: ${first} ms → ${last} ms`, ...evidence);
    else s.fail(id, [`${attempts} consecutive failed ${method} logins on one connection without disconnect, lockout or growing delay`, ...evidence]);
  } catch (err) {
    s.error(id, `probe failed: ${errorMessage(err)}`, 'probe-failed', evidence);
  }
}

async function checkPasswordAuth(s: TargetScan, methods: string[]): Promise<void> {
  const offered = `authentication methods offered to an unknown user: ${methods.join(', ')}`;
  const weak = methods.filter((m) => m === 'password' || m === 'keyboard-interactive' || m.startsWith('none'));
  if (!weak.length) {
    s.pass('ssh.password-auth', `authentication methods offered: ${methods.join(', ')}`);
    return;
  }
  if (weak.some((m) => m.startsWith('none')) || !s.hasCredentials) {
    s.fail('ssh.password-auth', [
      offered,
      ...(s.hasCredentials ? [] : ['not confirmed: rerun with --user <name> --password-stdin to try that password alone (password method only); a server that then asks for a second factor passes this check']),
    ]);
    return;
  }
  const user = s.options.user!;
  let outcome: PasswordOutcome;
  try {
    outcome = await passwordAlone(s, user, s.options.password!);
  } catch (err) {
    s.fail('ssh.password-auth', [offered, `not confirmed: the password-alone login as ${user} could not be completed (${errorMessage(err)})`]);
    return;
  }
  if (outcome.kind === 'full') s.fail('ssh.password-auth', [`a password alone completed the login (confirmed) as ${user}`, offered]);
  else if (outcome.kind === 'partial') s.pass('ssh.password-auth', `password is only a first factor: after it the server required ${outcome.methods.join(', ') || '(no method named)'}`, offered);
  else s.fail('ssh.password-auth', [offered, `not confirmed: the password given for ${user} was refused by the password method (methods left: ${outcome.methods.join(', ')}); check --user and the password`]);
}

export async function scanSsh(s: TargetScan): Promise<void> {
  for (const id of SSH_CHECKS) s.implemented.add(id);
  if (s.allowed('intrusive')) for (const id of SSH_INTRUSIVE_CHECKS) s.implemented.add(id);
  let hello;
  const release = await s.budget.acquire();
  try {
    const sock = await connectTcp(s.target.host, s.target.port, s.options.timeoutMs, s.signal);
    try {
      hello = await readHello(sock, s.options.timeoutMs, CLIENT_IDENT);
    } finally {
      sock.destroy();
    }
  } catch (err) {
    const msg = errorMessage(err);
    if (/ECONNREFUSED|EHOSTUNREACH|ENETUNREACH|timed out/.test(msg) && !s.reachable) {
      s.pass('svc.exposed-service', `no SSH service reachable at ${s.target.host}:${s.target.port}: ${msg}`);
      s.errorAll(SSH_CHECKS, `target not reachable: ${msg}`, 'unreachable');
    } else {
      s.errorAll(SSH_CHECKS, `SSH handshake failed: ${msg}`);
    }
    return;
  } finally {
    release();
  }
  s.reachable = true;
  s.banner = hello.ident;
  const ident = parseSshIdent(hello.ident);
  const info = ident ? identifySsh(ident) : undefined;
  s.identified(info);
  checkExposure(s, hello.ident);
  checkVersionDisclosure(s, info, 'SSH identification', hello.ident);
  checkAdvisories(s, info, hello.ident);

  const proto = ident?.protoVersion ?? '?';
  if (proto.startsWith('1.')) s.fail('ssh.protocol-v1', [`identification ${hello.ident} announces SSH protocol ${proto}${proto === '1.99' ? ' (SSH-1 and SSH-2)' : ''}`]);
  else s.pass('ssh.protocol-v1', `identification: ${hello.ident}`);

  const k = hello.kexinit;
  if (!k) {
    s.errorAll(SSH_CHECKS, `no SSH-2 key exchange offered (identification ${hello.ident})`, 'protocol');
    return;
  }
  const ciphers = [...new Set([...k.ciphersC2S, ...k.ciphersS2C])];
  const macs = [...new Set([...k.macsC2S, ...k.macsS2C])];
  const report = (id: string, weak: string[], all: string[], what: string): void => {
    if (weak.length) s.fail(id, [`weak ${what} offered: ${weak.join(', ')}`, `all ${what}: ${all.join(', ')}`]);
    else s.pass(id, `${what}: ${all.join(', ')}`);
  };
  const realKex = k.kex.filter((n) => !/^ext-info-|^kex-strict-/.test(n));
  const kexWeak = weakKex(k.kex);
  report('ssh.weak-kex', kexWeak, realKex, 'key exchange algorithms');
  const kexResult = s.results.get('ssh.weak-kex');
  if (kexResult && k.kex.some((n) => n.startsWith('diffie-hellman-group-exchange-'))) {
    kexResult.evidence.push('group-exchange modulus sizes were not probed (not implemented yet)');
  }
  report('ssh.weak-cipher', weakCiphers(ciphers), ciphers, 'ciphers');
  report('ssh.weak-mac', weakMacs(macs), macs, 'MACs');
  report('ssh.weak-hostkey-algorithm', weakHostKeyAlgorithms(k.hostKey), k.hostKey, 'host-key algorithms');
  const t = terrapin(k);
  if (t.vulnerable) s.fail('ssh.terrapin', [`CVE-2023-48795 preconditions: ${t.evidence}`]);
  else s.pass('ssh.terrapin', t.evidence);

  await Promise.all([
    (async () => {
      try {
        const keys = await Promise.all(
          hostKeyProbes(k.hostKey).map(async ({ keyType, alg }) => {
            try {
              const blob = await fetchHostKey(s, alg);
              return { keyType, ...parseHostKeyBlob(blob) };
            } catch (err) {
              return { keyType, type: keyType, bits: -1, error: errorMessage(err) };
            }
          }),
        );
        if (!keys.length) {
          s.error('ssh.small-hostkey', `no host-key algorithm this scanner can request (${k.hostKey.join(', ')})`, 'not-testable');
          return;
        }
        const ev = keys.map((x) => ('error' in x ? `${x.keyType}: not retrieved (${x.error})` : `${x.type}: ${x.bits} bits`));
        const small = keys.filter((x) => x.bits > 0 && ((x.type === 'ssh-rsa' && x.bits < 2048) || x.type === 'ssh-dss'));
        if (small.length) s.fail('ssh.small-hostkey', [`small host key(s): ${small.map((x) => `${x.type} ${x.bits} bits`).join(', ')}`, ...ev]);
        else if (keys.every((x) => x.bits > 0)) s.pass('ssh.small-hostkey', ...ev);
        else s.error('ssh.small-hostkey', 'some host keys could not be retrieved', 'probe-failed', ev);
      } catch (err) {
        s.error('ssh.small-hostkey', `probe failed: ${errorMessage(err)}`);
      }
    })(),
    (async () => {
      let methods: string[];
      try {
        methods = await authMethods(s);
      } catch (err) {
        s.error('ssh.password-auth', `probe failed: ${errorMessage(err)}`);
        if (s.allowed('intrusive')) s.errorAll(SSH_INTRUSIVE_CHECKS, `probe failed: ${errorMessage(err)}`);
        return;
      }
      try {
        await checkPasswordAuth(s, methods);
      } catch (err) {
        s.error('ssh.password-auth', `probe failed: ${errorMessage(err)}`);
      }
      // Intrusive: only with --allow intrusive, after everything else, one probe at a time.
      if (s.allowed('intrusive') && !methods.some((m) => m.startsWith('none'))) {
        await probeSshBruteForce(s, methods);
        await probeSshDefaultCredentials(s, methods);
      } else if (s.allowed('intrusive')) {
        s.errorAll(SSH_INTRUSIVE_CHECKS, 'the server lets anyone in without credentials (see ssh.password-auth): nothing to guess', 'precondition');
      }
    })(),
  ]);
}
