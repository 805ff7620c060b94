// The primary process of `workers > 1` (docs/workers.md): forks the workers with node:cluster,
// which share the SFTP and FTPS listening sockets (the primary accepts and hands connections to
// the workers in turn: node:cluster's round-robin), restarts a worker that dies (with a growing
// wait, logged and audited), stops them with a drain, and answers their questions (hub.ts).
import cluster, { type Worker } from 'node:cluster';
import os from 'node:os';
import type { Logger } from 'pino';
import type { Audit } from '../audit/audit.ts';
import type { ClusterLink } from '../cluster/cluster-link.ts';
import { LIMITS } from '../config/limits.ts';
import type { Config } from '../config/schema.ts';
import { PortcullisError } from '../errors/index.ts';
import type { BoundListener } from '../protocols/adapter.ts';
import { WorkerHub } from './hub.ts';
import { LocalTally } from '../net/connection-tally.ts';
import type { ChainedAuditSink } from '../audit/sinks/chained.ts';
import { createLogger } from '../app.ts';
import { WORKER_COUNT_ENV, WORKER_SLOT_ENV } from './slot.ts';

/** `workers` as a number: 'auto' is one per core this process may run on. */
export function workerCount(config: Config): number {
  return config.workers === 'auto' ? Math.min(os.availableParallelism(), LIMITS.maxWorkers) : config.workers;
}

interface Slot {
  index: number;
  worker: Worker | null;
  /** Deaths in a row (reset once a worker served LIMITS.workerStableMs). */
  deaths: number;
  startedAt: number;
  timer: NodeJS.Timeout | null;
}

export class Primary {
  private hubInstance: WorkerHub | null = null;
  private readonly slots: Slot[];
  private stopping = false;
  private readonly logger: Logger;
  private audit: Audit | null = null;

  constructor(
    readonly count: number,
    private readonly config: Config,
  ) {
    this.logger = createLogger(config);
    this.slots = Array.from({ length: count }, (_, index) => ({ index, worker: null, deaths: 0, startedAt: 0, timer: null }));
  }

  /** The shared counters of the primary's own core (createCore's `shared`). */
  hub(audit: Audit, redis: ClusterLink | null, trail: ChainedAuditSink | null): WorkerHub {
    this.audit = audit;
    // SECURITY: one tally for every worker: limits.maxConnections, maxConnectionsPerAddress and
    // the pre-authentication gate hold for the node, not N times over.
    this.hubInstance = new WorkerHub(audit, redis, new LocalTally(this.config.limits), trail);
    return this.hubInstance;
  }

  get connectionCount(): number {
    return this.hubInstance?.connectionCount ?? 0;
  }

  get sessionCount(): number {
    return this.hubInstance?.sessionCount ?? 0;
  }

  readiness(): { expected: number; serving: number } {
    return { expected: this.count, serving: [...(this.hubInstance?.workers.values() ?? [])].filter((w) => w.listeners !== null).length };
  }

  reloadWorkers() {
    return this.hubInstance!.reloadWorkers();
  }

  private fork(slot: Slot): Promise<BoundListener[]> {
    const hub = this.hubInstance!;
    // Slot and count: which slice of ftps.passivePorts this worker listens on (slot.ts).
    const worker = cluster.fork({ [WORKER_SLOT_ENV]: String(slot.index), [WORKER_COUNT_ENV]: String(this.count) });
    slot.worker = worker;
    slot.startedAt = Date.now();
    hub.attach(worker);
    // A message to a worker that is gone fails here, not as an uncaught error of the primary.
    worker.on('error', (err: Error) => this.logger.warn({ worker: worker.id, err: err.message }, 'worker channel error'));
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        worker.process.kill('SIGKILL');
        reject(new PortcullisError('ERR_INTERNAL', `worker ${slot.index + 1} was not listening within ${LIMITS.workerStartMs} ms`));
      }, LIMITS.workerStartMs);
      hub.onReady((w) => {
        if (w.worker !== worker) return;
        clearTimeout(timer);
        this.logger.info({ worker: worker.id, slot: slot.index + 1, pid: worker.process.pid }, 'worker serving');
        resolve(w.listeners!.map((l) => ({ ...l, scheme: l.scheme as BoundListener['scheme'] })));
      });
      worker.on('exit', (code, signal) => {
        clearTimeout(timer);
        hub.detach(worker.id);
        if (slot.worker === worker) slot.worker = null;
        reject(new PortcullisError('ERR_INTERNAL', `worker ${slot.index + 1} exited before it served (${signal ?? `code ${code}`}); its error is in the log above`));
        this.exited(slot, worker, code, signal);
      });
    });
  }

  /** A worker gone: while serving, another takes its place after a wait growing with repeated deaths. */
  private exited(slot: Slot, worker: Worker, code: number | null, signal: string | null): void {
    if (this.stopping || slot.startedAt === 0) return;
    const lived = Date.now() - slot.startedAt;
    slot.deaths = lived >= LIMITS.workerStableMs ? 1 : slot.deaths + 1;
    const wait = Math.min(LIMITS.workerRestartBaseMs * 2 ** (slot.deaths - 1), LIMITS.workerRestartMaxMs);
    const how = signal ?? `code ${code}`;
    this.logger.error({ worker: worker.id, slot: slot.index + 1, pid: worker.process.pid, exit: how, restartInMs: wait, deathsInARow: slot.deaths }, `worker ${slot.index + 1} (pid ${worker.process.pid}) died (${how}): its connections are gone; another starts in ${wait} ms`);
    this.audit?.emit({ type: 'server.worker.exited', slot: slot.index + 1, pid: worker.process.pid ?? 0, exit: how, restartInMs: wait });
    slot.timer = setTimeout(() => {
      slot.timer = null;
      if (this.stopping) return;
      this.fork(slot).catch((err: Error) => this.logger.error({ slot: slot.index + 1, err: err.message }, 'worker restart failed'));
    }, wait);
  }

  /** Forks every worker; resolves with the listeners once all serve (the first one's addresses). */
  async startWorkers(): Promise<BoundListener[]> {
    const all = await Promise.all(this.slots.map((s) => this.fork(s)));
    return all[0]!;
  }

  /** Every worker drains (up to drainMs) and exits; past drainMs and a grace, it is killed. */
  async stop(drainMs: number): Promise<void> {
    this.stopping = true;
    const running = this.slots.flatMap((s) => {
      if (s.timer) clearTimeout(s.timer);
      return s.worker && s.worker.isConnected() ? [s.worker] : [];
    });
    await Promise.all(
      running.map(
        (w) =>
          new Promise<void>((resolve) => {
            if (w.isDead()) return resolve();
            const kill = setTimeout(() => w.process.kill('SIGKILL'), drainMs + LIMITS.workerStartMs);
            w.once('exit', () => {
              clearTimeout(kill);
              resolve();
            });
            w.send({ ch: 'portcullis', kind: 'stop', drainMs }, undefined, () => undefined);
          }),
      ),
    );
    await this.hubInstance?.close();
  }

  endDrain(): void {
    this.hubInstance?.broadcast({ kind: 'endDrain' });
  }
}
