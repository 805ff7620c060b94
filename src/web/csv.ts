// CSV for spreadsheet users: RFC 4180 quoting, and cells that a spreadsheet would run as a
// formula (=, +, -, @, tab, carriage return first) prefixed with a single quote (OWASP CSV
// injection), so an attacker's user name or file name in the audit trail stays text.
const FORMULA_START = /^[=+\-@\t\r]/;

export function csvCell(value: string): string {
  // SECURITY: formula injection neutralised before quoting
  const text = FORMULA_START.test(value) ? `'${value}` : value;
  return /[",\r\n]/.test(text) || text !== value ? `"${text.replace(/"/g, '""')}"` : text;
}

export function toCsv(header: string[], rows: string[][]): string {
  return [header, ...rows].map((r) => r.map(csvCell).join(',')).join('\r\n') + '\r\n';
}
