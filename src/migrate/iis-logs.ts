// `portcullis migrate iis-logs DIR`: every W3C log under DIR (IIS keeps one folder per site,
// FTPSVC<id>, with u_exYYMMDD.log files), streamed in date order, with progress on stderr.
import { readdirSync, statSync } from 'node:fs';
import path from 'node:path';
import { PortcullisError } from '../errors/index.ts';
import { IisLogAnalyzer, type AnalysisOptions, type LogAnalysis } from './iis-log-analysis.ts';
import { readW3c, type ReadStats } from './w3c.ts';

export interface LogFile {
  file: string;
  site: string;
  bytes: number;
}

/** Log files under `dir` (recursively), oldest name first; the site is the parent folder's name. */
export function findLogFiles(dir: string, site?: string): LogFile[] {
  let st;
  try {
    st = statSync(dir);
  } catch (cause) {
    throw new PortcullisError('ERR_MIGRATE_INPUT', `cannot read ${dir}: give the folder of the site's W3C logs (IIS default: %SystemDrive%\\inetpub\\logs\\LogFiles)`, { cause });
  }
  const out: LogFile[] = [];
  const walk = (p: string): void => {
    for (const name of readdirSync(p).sort()) {
      const full = path.join(p, name);
      const s = statSync(full);
      if (s.isDirectory()) walk(full);
      else if (/\.log$/i.test(name)) out.push({ file: full, site: path.basename(path.dirname(full)), bytes: s.size });
    }
  };
  if (st.isDirectory()) walk(dir);
  else out.push({ file: dir, site: path.basename(path.dirname(dir)), bytes: st.size });
  const chosen = site ? out.filter((f) => f.site.toLowerCase() === site.toLowerCase()) : out;
  if (chosen.length === 0) {
    throw new PortcullisError('ERR_MIGRATE_INPUT', site ? `no .log files for site ${site} under ${dir} (sites found: ${[...new Set(out.map((f) => f.site))].join(', ') || 'none'})` : `no .log files under ${dir}`);
  }
  return chosen;
}

export interface Progress {
  file(f: LogFile, index: number, total: number): void;
  bytes(done: number, total: number): void;
  done(): void;
}

export async function analyzeIisLogs(files: LogFile[], options: AnalysisOptions, progress?: Progress): Promise<LogAnalysis> {
  const analyzer = new IisLogAnalyzer(options);
  const stats: ReadStats = { lines: 0, records: 0, malformed: 0, bytes: 0 };
  const total = files.reduce((n, f) => n + f.bytes, 0);
  for (const [i, f] of files.entries()) {
    progress?.file(f, i, files.length);
    for await (const { record } of readW3c(f.file, stats, () => progress?.bytes(stats.bytes, total))) analyzer.add(record, f.site);
    analyzer.files++;
  }
  progress?.done();
  analyzer.malformed = stats.malformed;
  analyzer.bytesRead = stats.bytes;
  return analyzer.finish();
}

/** A redrawn percentage on a terminal, a line per file elsewhere. */
export function stderrProgress(stream: NodeJS.WriteStream = process.stderr): Progress {
  let lastDraw = 0;
  return {
    file(f, i, n) {
      if (!stream.isTTY) stream.write(`reading ${i + 1}/${n} ${f.file} (${(f.bytes / 1e6).toFixed(1)} MB)\n`);
    },
    bytes(done, total) {
      if (!stream.isTTY || Date.now() - lastDraw < 100) return;
      lastDraw = Date.now();
      stream.write(`\r\x1b[2Kreading logs: ${total ? Math.floor((100 * done) / total) : 100}% (${(done / 1e6).toFixed(1)} of ${(total / 1e6).toFixed(1)} MB)`);
    },
    done() {
      if (stream.isTTY) stream.write('\r\x1b[2K');
    },
  };
}
