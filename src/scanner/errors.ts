// Scanner errors: a PortcullisError whose codes (ERR_SCAN_*) live in the one catalogue.
import { PortcullisError, type ErrorCode } from '../errors/index.ts';

/** The scanner's codes are part of the one catalogue (src/errors/catalogue.ts, ERR_SCAN_*). */
export type ScanErrorCode = Extract<ErrorCode, `ERR_SCAN_${string}`>;

export class ScanError extends PortcullisError {
  declare readonly code: ScanErrorCode;
  constructor(code: ScanErrorCode, message: string, options?: { cause?: unknown }) {
    super(code, message, options);
    this.name = 'ScanError';
    // Scanner messages are shown as written (the catalogue text is the code's meaning).
    this.message = message;
  }
}

export function errorMessage(err: unknown): string {
  if (err instanceof Error) {
    const code = (err as { code?: unknown }).code;
    return typeof code === 'string' && !err.message.includes(code) ? `${err.message} (${code})` : err.message;
  }
  return String(err);
}
