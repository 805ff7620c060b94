// The one table from core error codes to SFTP v3 status codes. The message sent is the
// catalogue's text (never a real path, never a secret).
import { ERROR_CATALOGUE, type ErrorCode, fromSystemError, type PortcullisError } from '../../errors/index.ts';
import { STATUS, type StatusCode } from './constants.ts';

/** Codes a file operation can raise, and their status. Any other code is FAILURE (a unit test
 * checks that every VFS, session and protocol code is listed). */
export const SFTP_STATUS_FOR: Partial<Record<ErrorCode, StatusCode>> = {
  ERR_AUTH_FAILED: STATUS.PERMISSION_DENIED,
  ERR_AUTH_TOO_MANY_ATTEMPTS: STATUS.PERMISSION_DENIED,
  ERR_AUTH_METHOD_NOT_ALLOWED: STATUS.PERMISSION_DENIED,
  ERR_ADMISSION_DENIED: STATUS.PERMISSION_DENIED,
  ERR_SESSION_LOGIN_TIMEOUT: STATUS.NO_CONNECTION,
  ERR_SESSION_IDLE_TIMEOUT: STATUS.NO_CONNECTION,
  ERR_SESSION_CLOSED: STATUS.CONNECTION_LOST,
  ERR_SESSION_TOO_MANY_CHANNELS: STATUS.FAILURE, // refused at channel open, before any SFTP request
  ERR_PERMISSION_DENIED: STATUS.PERMISSION_DENIED,
  ERR_VFS_INVALID_PATH: STATUS.FAILURE,
  ERR_VFS_NAME_TOO_LONG: STATUS.FAILURE,
  ERR_VFS_ESCAPE: STATUS.PERMISSION_DENIED,
  ERR_VFS_NOT_FOUND: STATUS.NO_SUCH_FILE,
  ERR_VFS_EXISTS: STATUS.FAILURE,
  ERR_VFS_NOT_A_DIRECTORY: STATUS.FAILURE,
  ERR_VFS_IS_A_DIRECTORY: STATUS.FAILURE,
  ERR_VFS_NOT_EMPTY: STATUS.FAILURE,
  ERR_VFS_NO_SPACE: STATUS.FAILURE,
  ERR_VFS_COPY_LIMIT: STATUS.FAILURE,
  ERR_VFS_RESUME_UNSUPPORTED: STATUS.OP_UNSUPPORTED,
  ERR_VFS_WRITE_ORDER: STATUS.OP_UNSUPPORTED,
  ERR_VFS_DIRECTORY_RENAME_UNSUPPORTED: STATUS.OP_UNSUPPORTED,
  ERR_VFS_SPOOL_FULL: STATUS.FAILURE,
  ERR_VFS_UNSUPPORTED: STATUS.OP_UNSUPPORTED,
  ERR_VFS_IO: STATUS.FAILURE,
  ERR_VFS_TRANSFER_ABORTED: STATUS.FAILURE,
  ERR_PROTOCOL_MALFORMED: STATUS.BAD_MESSAGE,
  ERR_PROTOCOL_LINE_TOO_LONG: STATUS.BAD_MESSAGE,
  ERR_PROTOCOL_TLS_TRUNCATED: STATUS.CONNECTION_LOST,
  ERR_PROTOCOL_PASSIVE_LIMIT: STATUS.FAILURE, // FTP only
  ERR_PROTOCOL_OUTPUT_STALLED: STATUS.CONNECTION_LOST, // FTP only
  // handshake refusals end the connection before any SFTP request; listed for completeness
  ERR_PROTOCOL_NO_COMMON_ALGORITHM: STATUS.CONNECTION_LOST,
  ERR_PROTOCOL_TLS_HANDSHAKE: STATUS.CONNECTION_LOST,
  // a bug: a generic failure, the details go to the log (once, with the stack)
  ERR_INTERNAL: STATUS.FAILURE,
};

/** Status code and message for any error thrown by a request handler. */
export function statusForError(err: unknown, report?: (e: PortcullisError) => void): { code: StatusCode; message: string; errorCode: ErrorCode } {
  const e = fromSystemError(err);
  report?.(e);
  return { code: SFTP_STATUS_FOR[e.code] ?? STATUS.FAILURE, message: ERROR_CATALOGUE[e.code], errorCode: e.code };
}
