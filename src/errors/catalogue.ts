// The one catalogue of error codes. Codes are stable: adapters map them to protocol replies
// (FTP reply codes, SFTP status codes) in one table each, and docs/errors.md documents every
// code (a test fails when the two disagree). Messages never contain secrets.

export const ERROR_CATALOGUE = {
  // configuration
  ERR_CONFIG_INVALID: 'The configuration is invalid',
  ERR_CONFIG_UNREADABLE: 'The configuration file cannot be read or parsed',

  // identity (keys and certificates)
  ERR_IDENTITY_UNREADABLE: 'A key or certificate in the data directory cannot be read',

  // admission
  ERR_ADMISSION_TOO_MANY_CONNECTIONS: 'The server has reached its connection limit',
  ERR_ADMISSION_TOO_MANY_FROM_ADDRESS: 'Too many connections from this address',
  ERR_ADMISSION_DENIED: 'The connection was refused by policy',
  ERR_ADMISSION_BAD_ADDRESS: 'The peer address cannot be parsed',
  ERR_ADMISSION_BANNED: 'The address is banned',
  ERR_ADMISSION_RATE_LIMITED: 'Too many new connections from this address',
  ERR_ADMISSION_TOO_MANY_UNAUTHENTICATED: 'Too many connections from this address have not logged in yet',
  ERR_ADMISSION_PREAUTH_BUSY: 'Too many connections are logging in; try again shortly',
  ERR_ADMISSION_PROXY_HEADER: 'A balancer in proxy.trustedAddresses sent no valid PROXY protocol header',

  // authentication
  ERR_AUTH_FAILED: 'Authentication failed',
  ERR_AUTH_TOO_MANY_ATTEMPTS: 'Too many authentication attempts',
  ERR_AUTH_METHOD_NOT_ALLOWED: 'This authentication method is not allowed now',
  ERR_AUTH_USER_CHANGED: 'The user name changed during authentication',
  ERR_AUTH_ALREADY_DONE: 'Authentication is already complete',

  // session and timeouts
  ERR_SESSION_LOGIN_TIMEOUT: 'Authentication was not completed in time',
  ERR_SESSION_IDLE_TIMEOUT: 'The session was idle for too long',
  ERR_SESSION_CLOSED: 'The session is closed',
  ERR_SESSION_TOO_MANY_CHANNELS: 'Too many channels open on one SSH connection',
  ERR_PERMISSION_DENIED: 'Permission denied',

  // virtual filesystem
  ERR_VFS_INVALID_PATH: 'The path is not valid',
  ERR_VFS_NAME_TOO_LONG: 'The path or a name in it is too long',
  ERR_VFS_ESCAPE: 'The path leads outside the home directory',
  ERR_VFS_NOT_FOUND: 'No such file or directory',
  ERR_VFS_EXISTS: 'The file or directory already exists',
  ERR_VFS_NOT_A_DIRECTORY: 'Not a directory',
  ERR_VFS_IS_A_DIRECTORY: 'Is a directory',
  ERR_VFS_NOT_EMPTY: 'The directory is not empty',
  ERR_VFS_NO_SPACE: 'No space left on the storage',
  ERR_VFS_UNSUPPORTED: 'The operation is not supported by this storage',
  ERR_VFS_IO: 'The storage failed to complete the operation',
  ERR_VFS_TRANSFER_ABORTED: 'The transfer was aborted before it completed',
  ERR_VFS_RESUME_UNSUPPORTED: 'This storage cannot resume or append to an existing file; upload the whole file again',
  ERR_VFS_WRITE_ORDER: 'This storage cannot rewrite bytes already stored; write the file from start to end',
  ERR_VFS_DIRECTORY_RENAME_UNSUPPORTED: 'This storage cannot rename a directory that is not empty; move its files one by one',
  ERR_VFS_SPOOL_FULL: 'Too many out-of-order bytes are waiting for the gap before them; write the file in order',
  ERR_VFS_COPY_LIMIT: 'Too much of existing files is being copied for resumed uploads of this user at once; finish or close one and retry',

  // protocol input
  ERR_PROTOCOL_MALFORMED: 'The client sent malformed protocol input',
  ERR_PROTOCOL_LINE_TOO_LONG: 'The command line is too long',
  ERR_PROTOCOL_TLS_TRUNCATED: 'The connection ended without a TLS close_notify: the data may be truncated',
  ERR_PROTOCOL_PASSIVE_LIMIT: 'Too many passive data connections are waiting for this user or address',
  ERR_PROTOCOL_OUTPUT_STALLED: 'The client stopped reading the server’s replies',
  ERR_PROTOCOL_NO_COMMON_ALGORITHM: 'The SSH client offers no key exchange, host key, cipher, MAC or compression algorithm the server accepts',
  ERR_PROTOCOL_TLS_HANDSHAKE: 'The TLS handshake failed (protocol version, cipher suite or ALPN)',
  ERR_AUTH_NO_COMMON_METHOD: 'The client offered no authentication method the server accepts for this user',

  // users and keys (store, CLI)
  ERR_USER_INVALID_NAME: 'The user name is not valid',
  ERR_USER_EXISTS: 'The user already exists',
  ERR_USER_NOT_FOUND: 'No such user',
  ERR_PASSWORD_INVALID: 'The password is not acceptable',
  ERR_KEY_INVALID: 'The public key cannot be parsed or is not allowed',
  ERR_KEY_EXISTS: 'The user already has this key',
  ERR_KEY_NOT_FOUND: 'No such key for this user',
  ERR_STORE_UNAVAILABLE: 'The store cannot be opened',

  // access policy (rules, bans, per-user restrictions)
  ERR_POLICY_INVALID_RULE: 'The address rule is not a valid address or CIDR',
  ERR_POLICY_RULE_EXISTS: 'The rule already exists',
  ERR_POLICY_RULE_NOT_FOUND: 'No such rule',
  ERR_POLICY_NOT_BANNED: 'The address is not banned',
  ERR_AUTH_ADDRESS_NOT_ALLOWED: 'The user may not log in from this address',
  ERR_AUTH_OUTSIDE_HOURS: 'The user may not log in at this time',
  ERR_AUTH_TOO_MANY_SESSIONS: 'The user has too many sessions open',

  // multi-factor authentication
  ERR_AUTH_MFA_NOT_ENROLLED: 'This account requires a verification code but has none set up',
  ERR_MFA_NOT_ENROLLED: 'The user has no one-time code set up',
  ERR_MFA_NOT_PENDING: 'There is no pending enrolment to confirm',
  ERR_MFA_CODE_INVALID: 'The verification code is not valid',
  ERR_MFA_KEY_MISMATCH: 'A stored secret cannot be decrypted with this MFA key',

  // monitoring (audit trail, alerts, live sessions)
  ERR_AUDIT_CHAIN_BROKEN: 'The audit trail hash chain is broken: records were edited, deleted, reordered or truncated',
  ERR_AUDIT_BAD_QUERY: 'The audit query is not valid',
  ERR_AUDIT_UNAVAILABLE: 'The audit trail cannot be written (disk full): new sessions are refused until it can',
  ERR_CONTROL_UNAVAILABLE: 'The server control socket cannot be reached (is the server running?)',
  ERR_CONTROL_BAD_REQUEST: 'The control request is not valid',
  ERR_CONTROL_SESSION_NOT_FOUND: 'No such live session',

  // admin plane (services, API tokens, REST API)
  ERR_ADMIN_INVALID_HOME: 'The home directory is not acceptable (over the API: a directory below DATADIR/home, without "..")',
  ERR_TOKEN_INVALID: 'The API token request is not valid (name, scopes, expiry or source addresses)',
  ERR_TOKEN_EXISTS: 'An active API token with this name already exists',
  ERR_TOKEN_NOT_FOUND: 'No such active API token',
  ERR_API_UNAUTHENTICATED: 'Authentication required: a valid API token',
  ERR_API_FORBIDDEN: 'The token’s scopes do not allow this request',
  ERR_API_BAD_REQUEST: 'The request does not match its schema',
  ERR_API_MALFORMED_JSON: 'The request body is not valid JSON (or repeats a key)',
  ERR_API_UNSUPPORTED_MEDIA_TYPE: 'The request body must be application/json',
  ERR_API_BODY_TOO_LARGE: 'The request body is too large',
  ERR_API_NOT_FOUND: 'No such API route',

  // scanner (outbound probes)
  ERR_SCAN_BAD_TARGET: 'The target URL cannot be scanned',
  ERR_SCAN_TIMEOUT: 'An operation exceeded its time limit',
  ERR_SCAN_BUDGET: 'The per-target connection or time budget is exhausted',
  ERR_SCAN_PROTOCOL: 'The peer violated the protocol (overlong line, malformed reply)',
  ERR_SCAN_CLOSED: 'The peer closed the connection',
  ERR_SCAN_UNSAFE: 'A probe refused an unsafe action (e.g. following PASV to another host)',
  ERR_SCAN_ADVISORIES: 'The advisories file is invalid',
  ERR_SCAN_USAGE: 'Bad command-line usage',
  ERR_SCAN_RUN_NOT_FOUND: 'No stored scan run with this id',
  ERR_SCAN_TARGET_NOT_CONFIGURED: 'Only this server’s listeners and the targets in scans.targets can be scanned on request',
  ERR_SCAN_IN_PROGRESS: 'A scan is running on this server; start the next when it has finished',

  // internal (a bug: an error nobody mapped; logged with a stack, the client sees a generic failure)
  ERR_INTERNAL: 'Internal server error',

  // posture (self-assessment of the running server)
  ERR_POSTURE_LIFECYCLE: 'The runtime and dependency lifecycle file is invalid',

  // doctor (what to patch, what is about to break)
  ERR_DOCTOR_ADVISORIES: 'The dependency advisories (OSV) file is invalid',
  ERR_DOCTOR_LOCKFILE: 'The installed dependency tree (package-lock.json) cannot be read',

  // migration from IIS FTP
  ERR_MIGRATE_INPUT: 'The IIS configuration or log input cannot be read',
  ERR_MIGRATE_XML_REFUSED: 'The IIS configuration contains XML constructs that are refused (DOCTYPE, entities, excessive nesting)',
  ERR_MIGRATE_SITE: 'The FTP site to import is missing or ambiguous',
  ERR_INVITE_INVALID: 'The invitation is unknown, used, expired or invalid',

  // web admin and portal
  ERR_WEB_SESSION_INVALID: 'Sign in again: the browser session is missing, expired, or was presented from another address',
  ERR_WEB_CSRF: 'The form is stale or came from another site: reload the page and submit it again',
  ERR_WEB_LOGIN_FAILED: 'Wrong name, password or code',
  ERR_WEB_FORBIDDEN: 'Your role does not allow this action',
  ERR_WEB_REAUTH_REQUIRED: 'Confirm your password and a current code to do this',
  ERR_WEB_BAD_FORM: 'The form is incomplete or a field is too long',
  ERR_WEB_SETUP_FAILED: 'The setup token is wrong or used, or an admin account already exists (then sign in)',
  ERR_ADMIN_ACCOUNT_EXISTS: 'An admin account with this name already exists',
  ERR_ADMIN_ACCOUNT_INVALID: 'The admin account request is not valid (name, role or password)',
} as const;

export type ErrorCode = keyof typeof ERROR_CATALOGUE;

export function isErrorCode(code: string): code is ErrorCode {
  return Object.hasOwn(ERROR_CATALOGUE, code);
}
