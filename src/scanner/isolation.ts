// Probe isolation: an error that escapes a probe (an 'error' event nobody listens to, a throw in a
// timer, a promise nobody awaits) ends that target's scan with an error result, never the run.
// Each target's work runs in an AsyncLocalStorage scope; the process-wide handlers, installed
// only while a scan runs, hand such an error to the scope it came from.
import { AsyncLocalStorage } from 'node:async_hooks';

export type StraySink = (err: unknown) => void;

const scope = new AsyncLocalStorage<StraySink>();
/** Handlers for errors that belong to no target (the CLI records them; exit code 2). */
const runSinks = new Set<StraySink>();
let active = 0;

function onStray(err: unknown): void {
  const sink = scope.getStore() ?? [...runSinks].at(-1);
  if (sink) {
    sink(err);
    return;
  }
  // Nobody here claims it and nobody else listens: behave as Node would without us.
  if (process.listenerCount('uncaughtException') <= 1) {
    process.stderr.write(`${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
    process.exit(1);
  }
}

function install(): void {
  if (active++ === 0) {
    process.on('uncaughtException', onStray);
    process.on('unhandledRejection', onStray);
  }
}

function uninstall(): void {
  if (--active === 0) {
    process.off('uncaughtException', onStray);
    process.off('unhandledRejection', onStray);
  }
}

/** Run one target's probes; errors escaping them go to `sink`. */
export function runIsolated<T>(sink: StraySink, fn: () => Promise<T>): Promise<T> {
  install();
  return scope.run(sink, fn).finally(uninstall);
}

/** For the duration of `fn`, errors escaping every target's scope go to `sink`. */
export async function withRunSink<T>(sink: StraySink, fn: () => Promise<T>): Promise<T> {
  runSinks.add(sink);
  install();
  try {
    return await fn();
  } finally {
    uninstall();
    runSinks.delete(sink);
  }
}
