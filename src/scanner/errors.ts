// Scanner error catalogue: one class, stable codes.

export const SCAN_ERROR_CODES = {
  ERR_SCAN_BAD_TARGET: 'the target URL cannot be scanned',
  ERR_SCAN_TIMEOUT: 'an operation exceeded its time limit',
  ERR_SCAN_BUDGET: 'the per-target connection or time budget is exhausted',
  ERR_SCAN_PROTOCOL: 'the peer violated the protocol (overlong line, malformed reply)',
  ERR_SCAN_CLOSED: 'the peer closed the connection',
  ERR_SCAN_UNSAFE: 'a probe refused an unsafe action (e.g. following PASV to another host)',
  ERR_SCAN_ADVISORIES: 'the advisories file is invalid',
  ERR_SCAN_USAGE: 'bad command-line usage',
} as const;

export type ScanErrorCode = keyof typeof SCAN_ERROR_CODES;

export class ScanError extends Error {
  readonly code: ScanErrorCode;
  constructor(code: ScanErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'ScanError';
    this.code = code;
  }
}

export function errorMessage(err: unknown): string {
  if (err instanceof Error) {
    const code = (err as { code?: unknown }).code;
    return typeof code === 'string' && !err.message.includes(code) ? `${err.message} (${code})` : err.message;
  }
  return String(err);
}
