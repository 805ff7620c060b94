// The one table from error codes to HTTP statuses, and from fastify's own errors to our codes.
// The body is always {"error": {"code", "message"}}; an unmapped error is ERR_INTERNAL (500),
// logged once with its stack, its message never sent.
import type { ErrorCode } from '../errors/index.ts';

export const HTTP_STATUS_FOR: Partial<Record<ErrorCode, number>> = {
  ERR_API_BAD_REQUEST: 400,
  ERR_API_MALFORMED_JSON: 400,
  ERR_USER_INVALID_NAME: 400,
  ERR_PASSWORD_INVALID: 400,
  ERR_KEY_INVALID: 400,
  ERR_POLICY_INVALID_RULE: 400,
  ERR_ADMIN_INVALID_HOME: 400,
  ERR_AUTH_OUTSIDE_HOURS: 400,
  ERR_AUDIT_BAD_QUERY: 400,
  ERR_SCAN_BAD_TARGET: 400,
  ERR_SCAN_TARGET_NOT_CONFIGURED: 400,
  ERR_MFA_NOT_ENROLLED: 404,
  ERR_API_UNAUTHENTICATED: 401,
  ERR_API_FORBIDDEN: 403,
  ERR_ADMISSION_BANNED: 403,
  ERR_ADMISSION_DENIED: 403,
  ERR_API_NOT_FOUND: 404,
  ERR_USER_NOT_FOUND: 404,
  ERR_KEY_NOT_FOUND: 404,
  ERR_POLICY_RULE_NOT_FOUND: 404,
  ERR_POLICY_NOT_BANNED: 404,
  ERR_CONTROL_SESSION_NOT_FOUND: 404,
  ERR_SCAN_RUN_NOT_FOUND: 404,
  ERR_USER_EXISTS: 409,
  ERR_KEY_EXISTS: 409,
  ERR_POLICY_RULE_EXISTS: 409,
  ERR_SCAN_IN_PROGRESS: 409,
  ERR_API_BODY_TOO_LARGE: 413,
  ERR_API_UNSUPPORTED_MEDIA_TYPE: 415,
  ERR_ADMISSION_RATE_LIMITED: 429,
  ERR_ADMISSION_TOO_MANY_FROM_ADDRESS: 429,
  ERR_STORE_UNAVAILABLE: 503,
  ERR_CONTROL_UNAVAILABLE: 503,
  ERR_INTERNAL: 500,
};

/** fastify's request errors, as our codes. */
export const FASTIFY_ERRORS: Record<string, ErrorCode> = {
  FST_ERR_CTP_BODY_TOO_LARGE: 'ERR_API_BODY_TOO_LARGE',
  FST_ERR_CTP_INVALID_MEDIA_TYPE: 'ERR_API_UNSUPPORTED_MEDIA_TYPE',
  FST_ERR_CTP_INVALID_CONTENT_LENGTH: 'ERR_API_BAD_REQUEST',
  FST_ERR_CTP_EMPTY_JSON_BODY: 'ERR_API_MALFORMED_JSON',
  FST_ERR_CTP_INVALID_JSON_BODY: 'ERR_API_MALFORMED_JSON',
  FST_ERR_BAD_URL: 'ERR_API_BAD_REQUEST',
  FST_ERR_ASYNC_CONSTRAINT: 'ERR_API_BAD_REQUEST',
};

export const HTTP_STATUS_TEXT: Record<number, string> = {
  200: 'OK',
  201: 'Created',
  202: 'Accepted: it runs in the background',
  204: 'No content',
  400: 'The request is not valid (schema, JSON, parameters)',
  401: 'No valid token',
  403: 'The token lacks the scope, or the address is banned or denied',
  404: 'No such resource',
  409: 'It exists already, or conflicts with what is running',
  413: 'The body is too large',
  415: 'The body is not application/json',
};
