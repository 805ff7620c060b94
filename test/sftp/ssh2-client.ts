// The ssh2 npm client as a test driver: connect, get an SFTPWrapper, promisified helpers.
import ssh2, { type ConnectConfig, type SFTPWrapper } from 'ssh2';
import { PASSWORD, USER, type SftpFixture } from './helpers.ts';

export interface Ssh2Session {
  conn: ssh2.Client;
  sftp: SFTPWrapper;
  close(): void;
}

export function connectSsh2(f: SftpFixture, extra: Partial<ConnectConfig> = {}): Promise<ssh2.Client> {
  return new Promise((resolve, reject) => {
    const conn = new ssh2.Client();
    conn.once('ready', () => resolve(conn));
    conn.once('error', reject);
    conn.connect({ host: '127.0.0.1', port: f.port, username: USER, password: PASSWORD, readyTimeout: 20_000, ...extra });
  });
}

export async function openSftp(f: SftpFixture, extra: Partial<ConnectConfig> = {}): Promise<Ssh2Session> {
  const conn = await connectSsh2(f, extra);
  const sftp = await new Promise<SFTPWrapper>((resolve, reject) => conn.sftp((err, s) => (err ? reject(err) : resolve(s))));
  return { conn, sftp, close: () => conn.end() };
}

/** Promisifies one SFTPWrapper method call (callback last). */
export function call<T = void>(fn: (cb: (err: Error | null | undefined, value?: T) => void) => void): Promise<T> {
  return new Promise((resolve, reject) => fn((err, value) => (err ? reject(err) : resolve(value as T))));
}

/** Status code of a failed SFTP call (ssh2 puts it on `err.code`). */
export async function sftpErrorCode(p: Promise<unknown>): Promise<number | string> {
  try {
    await p;
  } catch (err) {
    return (err as { code?: number | string }).code ?? (err as Error).message;
  }
  return 'succeeded';
}
