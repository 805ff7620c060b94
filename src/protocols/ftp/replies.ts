// FTP replies are formatted here and nowhere else. Text never carries a control character: CR
// and LF in a file name echoed in a reply would forge a second reply line, ESC or BEL would
// reach the client's terminal. They are written as `\xHH` (display-name.ts), like listings.
import { escapeControlChars } from '../display-name.ts';

export function sanitizeReplyText(text: string): string {
  // SECURITY: reply-line and terminal injection through names echoed in replies.
  return escapeControlChars(text);
}

/**
 * One reply. Several lines become a multi-line reply: `code-first`, then each further line
 * prefixed with a space (so it can never be read as a reply code), then `code last`.
 */
export function formatReply(code: number, text: string | readonly string[]): string {
  const lines = (typeof text === 'string' ? [text] : text).map(sanitizeReplyText);
  if (lines.length <= 1) return `${code} ${lines[0] ?? ''}\r\n`;
  const first = `${code}-${lines[0]}\r\n`;
  const middle = lines.slice(1, -1).map((l) => ` ${l}\r\n`).join('');
  return `${first}${middle}${code} ${lines[lines.length - 1]}\r\n`;
}

/**
 * A multi-line reply in pieces, for one too long to build whole (a STAT listing): the first
 * line, any number of middle lines, the last line. Together they equal formatReply's output.
 */
export const formatReplyPart = {
  first: (code: number, text: string): string => `${code}-${sanitizeReplyText(text)}\r\n`,
  middle: (text: string): string => ` ${sanitizeReplyText(text)}\r\n`,
  last: (code: number, text: string): string => `${code} ${sanitizeReplyText(text)}\r\n`,
};

/** A path inside a 257 reply: enclosed in quotes, embedded quotes doubled (RFC 959). */
export function quotePath(path: string): string {
  return `"${path.replace(/"/g, '""')}"`;
}
