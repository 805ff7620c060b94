// The one table from core error codes to FTP replies. Anything not listed is a transient
// local error (451): the client may retry, and nothing internal is disclosed.
import { isPortcullisError, type ErrorCode } from '../../errors/index.ts';

export interface FtpErrorReply {
  code: number;
  text: string;
}

const TABLE: Partial<Record<ErrorCode, FtpErrorReply>> = {
  ERR_PERMISSION_DENIED: { code: 550, text: 'Permission denied' },
  ERR_VFS_NOT_FOUND: { code: 550, text: 'No such file or directory' },
  ERR_VFS_EXISTS: { code: 550, text: 'File exists' },
  ERR_VFS_NOT_A_DIRECTORY: { code: 550, text: 'Not a directory' },
  ERR_VFS_IS_A_DIRECTORY: { code: 550, text: 'Is a directory' },
  ERR_VFS_NOT_EMPTY: { code: 550, text: 'Directory not empty' },
  ERR_VFS_ESCAPE: { code: 550, text: 'Permission denied' },
  ERR_VFS_UNSUPPORTED: { code: 550, text: 'Operation not supported' },
  ERR_VFS_INVALID_PATH: { code: 553, text: 'File name not allowed' },
  ERR_VFS_NAME_TOO_LONG: { code: 553, text: 'File name too long' },
  ERR_VFS_NO_SPACE: { code: 452, text: 'Insufficient storage space' },
  ERR_VFS_RESUME_UNSUPPORTED: { code: 550, text: 'Resume and append are not supported by this storage; upload the whole file' },
  ERR_VFS_WRITE_ORDER: { code: 550, text: 'This storage cannot rewrite bytes already stored' },
  ERR_VFS_DIRECTORY_RENAME_UNSUPPORTED: { code: 550, text: 'This storage cannot rename a non-empty directory' },
  ERR_VFS_SPOOL_FULL: { code: 452, text: 'Too many out-of-order bytes; write the file in order' },
  ERR_VFS_COPY_LIMIT: { code: 452, text: 'Too many resumed uploads at once; retry later' },
  ERR_VFS_IO: { code: 451, text: 'Local error in processing' },
  ERR_INTERNAL: { code: 451, text: 'Internal server error' },
  ERR_VFS_TRANSFER_ABORTED: { code: 426, text: 'Connection closed; transfer aborted' },
  ERR_SESSION_CLOSED: { code: 421, text: 'Session closed' },
  ERR_SESSION_IDLE_TIMEOUT: { code: 421, text: 'Idle timeout' },
  ERR_SESSION_LOGIN_TIMEOUT: { code: 421, text: 'Login timeout' },
  ERR_PROTOCOL_MALFORMED: { code: 501, text: 'Syntax error in parameters or arguments' },
  ERR_PROTOCOL_LINE_TOO_LONG: { code: 500, text: 'Command line too long' },
  ERR_PROTOCOL_TLS_TRUNCATED: { code: 426, text: 'Data connection closed without TLS close_notify; upload discarded' },
  ERR_AUTH_FAILED: { code: 530, text: 'Login incorrect' },
  ERR_AUTH_METHOD_NOT_ALLOWED: { code: 530, text: 'Login incorrect' },
  ERR_AUTH_USER_CHANGED: { code: 530, text: 'Login incorrect' },
  ERR_AUTH_TOO_MANY_ATTEMPTS: { code: 421, text: 'Too many failed logins' },
  ERR_AUTH_TOO_MANY_SESSIONS: { code: 421, text: 'Too many sessions open for this user' },
  ERR_AUDIT_UNAVAILABLE: { code: 421, text: 'Service not available, try again later' },
  ERR_AUTH_ALREADY_DONE: { code: 503, text: 'Already logged in' },
  ERR_AUTH_MFA_NOT_ENROLLED: { code: 530, text: 'This account needs a one-time code but has none set up' },
};

const FALLBACK: FtpErrorReply = { code: 451, text: 'Local error in processing' };

export function replyForErrorCode(code: ErrorCode): FtpErrorReply {
  return TABLE[code] ?? FALLBACK;
}

export function replyForError(err: unknown): FtpErrorReply {
  return isPortcullisError(err) ? replyForErrorCode(err.code) : FALLBACK;
}
