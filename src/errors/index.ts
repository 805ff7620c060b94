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

export function isPortcullisError(err: unknown, code?: ErrorCode): err is PortcullisError {
  return err instanceof PortcullisError && (code === undefined || err.code === code);
}

/** Maps an operating-system error (errno code) to the catalogue. Unknown ones become ERR_VFS_IO. */
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
};

export function fromSystemError(err: unknown): PortcullisError {
  if (err instanceof PortcullisError) return err;
  const errno = (err as NodeJS.ErrnoException | undefined)?.code;
  const code = (errno && ERRNO_TO_CODE[errno]) || 'ERR_VFS_IO';
  return new PortcullisError(code, errno, { cause: err });
}
