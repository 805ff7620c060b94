// Parses the exec command of a legacy SCP client: `scp [-v] [-r] [-p] [-d] -t|-f [--] path...`.
// OpenSSH's scp before 9.0 (and `scp -O`) runs this through the remote user's shell; we run
// no shell and no program, so the words are split here with the shell's quoting rules (quotes,
// backslashes) and anything a shell would expand (globs, variables, redirections, `;`) is
// refused instead of being taken literally or interpreted.

export interface ScpCommand {
  /** `-t`: we receive files (upload); `-f`: we send them (download). */
  direction: 'sink' | 'source';
  /** `-r`: directories are allowed (D/E records). */
  recursive: boolean;
  /** `-p`: modification/access times (T records) and modes are kept. */
  preserve: boolean;
  /** `-d`: the target must be a directory (several files were given). */
  targetMustBeDirectory: boolean;
  /** The target (sink: exactly one) or the paths to send (source: one or more). */
  paths: string[];
}

export type ParsedExec = { kind: 'scp'; command: ScpCommand } | { kind: 'invalid'; message: string } | { kind: 'other' };

const FLAGS: Record<string, (c: Partial<ScpCommand>) => void> = {
  t: (c) => (c.direction = 'sink'),
  f: (c) => (c.direction = 'source'),
  r: (c) => (c.recursive = true),
  p: (c) => (c.preserve = true),
  d: (c) => (c.targetMustBeDirectory = true),
  v: () => undefined, // verbose: nothing to say on the wire
  q: () => undefined,
};

// SECURITY: characters a shell would act on when unquoted. Taking them literally would make a
// path mean something else than what the user's shell would have made of it; interpreting them
// is out of the question (no shell here). `~` is only allowed as the home at a word's start.
const SHELL_SPECIAL = /[|&;<>()$`*?[\]{}!#]/;

/** Splits a command line like a POSIX shell does (no expansion); null when quotes are unbalanced or a special character is unquoted. */
export function splitShellWords(line: string): string[] | null {
  const words: string[] = [];
  let word: string | null = null;
  for (let i = 0; i < line.length; i++) {
    const ch = line[i]!;
    if (ch === ' ' || ch === '\t') {
      if (word !== null) words.push(word);
      word = null;
      continue;
    }
    if (ch === "'") {
      const end = line.indexOf("'", i + 1);
      if (end === -1) return null;
      word = (word ?? '') + line.slice(i + 1, end);
      i = end;
      continue;
    }
    if (ch === '"') {
      let out = '';
      let j = i + 1;
      for (; j < line.length && line[j] !== '"'; j++) {
        if (line[j] === '\\' && j + 1 < line.length && '"\\$`'.includes(line[j + 1]!)) j++;
        else if (line[j] === '$' || line[j] === '`') return null;
        out += line[j];
      }
      if (j >= line.length) return null;
      word = (word ?? '') + out;
      i = j;
      continue;
    }
    if (ch === '\\') {
      if (i + 1 >= line.length) return null;
      word = (word ?? '') + line[++i];
      continue;
    }
    if (SHELL_SPECIAL.test(ch)) return null;
    if (ch === '~' && word !== null) return null;
    word = (word ?? '') + ch;
  }
  if (word !== null) words.push(word);
  return words;
}

/** What an exec request asks for: legacy SCP, a malformed SCP command, or something else. */
export function parseExecCommand(line: string): ParsedExec {
  if (!/^\s*scp(\s|$)/.test(line)) return { kind: 'other' };
  const words = splitShellWords(line);
  if (!words) return { kind: 'invalid', message: 'the command has quoting or shell characters (wildcards, $, ;, redirections) this server does not expand: quote the path, or use sftp' };
  const c: Partial<ScpCommand> = { recursive: false, preserve: false, targetMustBeDirectory: false };
  let i = 1;
  for (; i < words.length; i++) {
    const w = words[i]!;
    if (w === '--') {
      i++;
      break;
    }
    if (!w.startsWith('-') || w === '-') break;
    for (const flag of w.slice(1)) {
      const set = FLAGS[flag];
      if (!set) return { kind: 'invalid', message: `unsupported option -${flag}` };
      set(c);
    }
  }
  const paths = words.slice(i).map(homeRelative);
  if (paths.includes(null)) return { kind: 'invalid', message: '~user paths are not supported: give the path from your home' };
  if (!c.direction) return { kind: 'invalid', message: 'neither -t nor -f was given' };
  if (paths.length === 0) return { kind: 'invalid', message: 'no path was given' };
  if (c.direction === 'sink' && paths.length !== 1) return { kind: 'invalid', message: 'one target path is expected' };
  return { kind: 'scp', command: { ...(c as ScpCommand), paths: paths as string[] } };
}

/** `~` and `~/x` are the home ("/"); everything else is a virtual path (relative ones from the home). */
function homeRelative(p: string): string | null {
  if (p === '~') return '/';
  if (p.startsWith('~/')) return p.slice(1);
  if (p.startsWith('~')) return null; // another user's home
  return p === '' ? '.' : p;
}
