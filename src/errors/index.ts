import { ERROR_CATALOGUE, type ErrorCode } from './catalogue.ts';

export { ERROR_CATALOGUE, type ErrorCode, isErrorCode } from './catalogue.ts';

/**
 * The one error class of the core. `code` is stable (see docs/errors.md); `detail` is an
 * operator-facing explanation that must never contain secrets; `cause` keeps the original.
 */
export class PortcullisError extends Error {
  readonly code: ErrorCode;
  readonly detail: string | undefined;

  constructor(code: ErrorCode, detail?: string, options?: { cause?: unknown }) {
    super(detail ? `${ERROR_CATALOGUE[code]}: ${detail}` : ERROR_CATALOGUE[code], options);
    this.name = 'PortcullisError';
    this.code = code;
    this.detail = detail;
  }
}

/** Why `Core.openSession` refuses a session the user was authenticated for: the protocols
 * answer each with its message (FTP 421, SSH a refused channel) and go on. */
export const SESSION_REFUSALS = ['ERR_AUTH_TOO_MANY_SESSIONS', 'ERR_AUDIT_UNAVAILABLE'] as const satisfies readonly ErrorCode[];

export function isPortcullisError(err: unknown, code?: ErrorCode): err is PortcullisError {
  return err instanceof PortcullisError && (code === undefined || err.code === code);
}

/** Maps an operating-system error (errno code) to the catalogue. Unknown errno codes become
 * ERR_VFS_IO; an error with no errno at all (a TypeError, a plain Error: a bug) is ERR_INTERNAL. */
const ERRNO_TO_CODE: Record<string, ErrorCode> = {
  ENOENT: 'ERR_VFS_NOT_FOUND',
  EEXIST: 'ERR_VFS_EXISTS',
  ENOTDIR: 'ERR_VFS_NOT_A_DIRECTORY',
  EISDIR: 'ERR_VFS_IS_A_DIRECTORY',
  ENOTEMPTY: 'ERR_VFS_NOT_EMPTY',
  ENOSPC: 'ERR_VFS_NO_SPACE',
  EDQUOT: 'ERR_VFS_NO_SPACE',
  EACCES: 'ERR_PERMISSION_DENIED',
  EPERM: 'ERR_PERMISSION_DENIED',
  ENAMETOOLONG: 'ERR_VFS_NAME_TOO_LONG',
  ELOOP: 'ERR_VFS_ESCAPE',
  EXDEV: 'ERR_VFS_UNSUPPORTED',
  ENOTSUP: 'ERR_VFS_UNSUPPORTED',
  EOPNOTSUPP: 'ERR_VFS_UNSUPPORTED',
  EINVAL: 'ERR_VFS_INVALID_PATH',
  ABORT_ERR: 'ERR_VFS_TRANSFER_ABORTED', // an AbortSignal fired (FTP ABOR, a closed connection)
};

export function fromSystemError(err: unknown): PortcullisError {
  if (err instanceof PortcullisError) return err;
  if ((err as Error | undefined)?.name === 'AbortError') return new PortcullisError('ERR_VFS_TRANSFER_ABORTED', undefined, { cause: err });
  const errno = (err as NodeJS.ErrnoException | undefined)?.code;
  // errno names (ENOENT, EIO) and Node's stream errors (a peer that went away) are the
  // environment; anything else is ours.
  const fromEnvironment = typeof errno === 'string' && /^(E[A-Z0-9]+|ERR_STREAM_[A-Z_]+|ABORT_ERR)$/.test(errno);
  if (!fromEnvironment) return new PortcullisError('ERR_INTERNAL', undefined, { cause: err });
  return new PortcullisError(ERRNO_TO_CODE[errno] ?? 'ERR_VFS_IO', errno, { cause: err });
}

/** The logger an adapter or the Session is given (pino's shape). */
export interface ErrorLogger {
  error(obj: object, msg: string): void;
}

const reported = new WeakSet<object>();

/**
 * Logs an ERR_INTERNAL once, with its stack and the fields given (connection id, session id):
 * the same error passes through the Session and then the adapter, and is logged by the first.
 * Returns the error unchanged; other codes are not logged here.
 */
export function reportInternal(e: PortcullisError, logger: ErrorLogger | undefined, fields: Record<string, unknown>): PortcullisError {
  if (e.code !== 'ERR_INTERNAL' || !logger || reported.has(e)) return e;
  reported.add(e);
  const cause = e.cause instanceof Error ? e.cause : new Error(String(e.cause));
  logger.error({ ...fields, code: e.code, err: cause.message, stack: cause.stack }, 'internal error (a bug): the client was sent a generic failure');
  return e;
}
