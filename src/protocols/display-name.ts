// Names shown to people (FTP listings and replies, SFTP longnames) never carry control
// characters: a name on disk with ESC or BEL would otherwise drive the client's terminal
// (terminal injection), and one with CR or LF could forge a reply line. Each C0 control
// (U+0000-U+001F), DEL (U+007F) and C1 control (U+0080-U+009F) is written as `\xHH`, two
// lowercase hex digits; everything else is unchanged. Not reversible: a name shown escaped is
// for display, not for addressing the file (new names with control characters are refused).

// eslint-disable-next-line no-control-regex
const CONTROL = /[\u0000-\u001f\u007f-\u009f]/g;

/** SECURITY: `name` with every control character written as `\xHH`. */
export function escapeControlChars(name: string): string {
  return name.replace(CONTROL, (c) => `\\x${c.charCodeAt(0).toString(16).padStart(2, '0')}`);
}
