// Parses the exec command of a legacy SCP client: `scp [-v] [-r] [-p] [-d] -t|-f [--] path...`.
// OpenSSH's scp before 9.0 (and `scp -O`) runs this through the remote user's shell; we run
// no shell and no program, so the words are split here with the shell's quoting rules (quotes,
// backslashes); unquoted `* ? [ ]` in the last name of a download path are expanded by the
// adapter against the listing (as the user's shell would have), and anything else a shell
// would act on (variables, redirections, `;`, braces) is refused, never taken literally.

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
  /** Source only: per path, a glob for its last name when it had unquoted `* ? [ ]` (the
   * expansion the remote shell did for OpenSSH's sshd), else null. */
  globs: (string | null)[];
}

/** One word as the shell would pass it, and which of its characters were unquoted glob characters. */
export interface ShellWord {
  value: string;
  glob: boolean[];
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
// Glob characters (`* ? [ ]`) are kept as such and expanded by the adapter, in the last name only.
const SHELL_SPECIAL = /[|&;<>()$`{}!#]/;
const GLOB = /[*?[\]]/;

/** Splits a command line like a POSIX shell does (no expansion); null when quotes are unbalanced or a special character is unquoted. */
export function splitShellWords(line: string): ShellWord[] | null {
  const words: ShellWord[] = [];
  let word: ShellWord | null = null;
  const add = (text: string, glob: boolean) => {
    word ??= { value: '', glob: [] };
    word.value += text;
    for (let k = 0; k < text.length; k++) word.glob.push(glob);
  };
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
      add(line.slice(i + 1, end), false);
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
      add(out, false);
      i = j;
      continue;
    }
    if (ch === '\\') {
      if (i + 1 >= line.length) return null;
      add(line[++i]!, false);
      continue;
    }
    if (SHELL_SPECIAL.test(ch)) return null;
    if (ch === '~' && word !== null) return null;
    add(ch, GLOB.test(ch));
  }
  if (word !== null) words.push(word);
  return words;
}

/** The glob for a word's last name (quoted characters escaped; null without unquoted glob
 * characters), or undefined when one is before the last "/" (not supported). */
function lastNameGlob(word: ShellWord): { glob: string | null } | undefined {
  if (!word.glob.includes(true)) return { glob: null };
  const slash = word.value.lastIndexOf('/');
  if (word.glob.slice(0, slash + 1).includes(true)) return undefined;
  let pattern = '';
  for (let k = slash + 1; k < word.value.length; k++) {
    const ch = word.value[k]!;
    pattern += !word.glob[k] && /[*?[\]\\!+@()]/.test(ch) ? `\\${ch}` : ch;
  }
  return { glob: pattern };
}

/** What an exec request asks for: legacy SCP, a malformed SCP command, or something else. */
export function parseExecCommand(line: string): ParsedExec {
  if (!/^\s*scp(\s|$)/.test(line)) return { kind: 'other' };
  const words = splitShellWords(line);
  if (!words) return { kind: 'invalid', message: 'the command has quoting or shell characters (wildcards, $, ;, redirections) this server does not expand: quote the path, or use sftp' };
  const c: Partial<ScpCommand> = { recursive: false, preserve: false, targetMustBeDirectory: false };
  let i = 1;
  for (; i < words.length; i++) {
    const w = words[i]!.value;
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
  const rest = words.slice(i);
  const paths = rest.map((w) => homeRelative(w.value));
  const globs = rest.map(lastNameGlob);
  if (paths.includes(null)) return { kind: 'invalid', message: '~user paths are not supported: give the path from your home' };
  if (!c.direction) return { kind: 'invalid', message: 'neither -t nor -f was given' };
  if (paths.length === 0) return { kind: 'invalid', message: 'no path was given' };
  if (c.direction === 'sink' && paths.length !== 1) return { kind: 'invalid', message: 'one target path is expected' };
  if (globs.includes(undefined)) return { kind: 'invalid', message: 'wildcards are expanded in the last name of a path only (dir/*.txt, not */x): quote the path, or use sftp' };
  if (c.direction === 'sink' && globs[0]?.glob !== null) return { kind: 'invalid', message: 'the target has wildcards: quote it' };
  return { kind: 'scp', command: { ...(c as ScpCommand), paths: paths as string[], globs: globs.map((g) => g?.glob ?? null) } };
}

/** `~` and `~/x` are the home ("/"); everything else is a virtual path (relative ones from the home). */
function homeRelative(p: string): string | null {
  if (p === '~') return '/';
  if (p.startsWith('~/')) return p.slice(1);
  if (p.startsWith('~')) return null; // another user's home
  return p === '' ? '.' : p;
}
