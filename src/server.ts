// `portcullis serve`: builds the core, starts every enabled protocol adapter and the health
// listener, prints where it listens and the key fingerprints, and handles signals:
// SIGHUP reloads the TLS certificate without dropping sessions; SIGINT/SIGTERM stop cleanly;
// SIGUSR2 hands the listeners over to a new process and drains (src/net/hand-over.ts).
import path from 'node:path';
import { createCore, type Core } from './app.ts';
import { loadConfig, type LoadedConfig } from './config/load.ts';
import { LIMITS } from './config/limits.ts';
import type { Config } from './config/schema.ts';
import { startHealthServer, type HealthServer } from './health/health-server.ts';
import { reloadTls } from './identity/identity.ts';
import { applyLive, planReload } from './config/reload.ts';
import { Alerts } from './alerts/alerts.ts';
import { DoctorSchedule } from './doctor/schedule.ts';
import { ScanSchedule } from './scanner/schedule.ts';
import { startControlServer, type ControlServer } from './control/control-server.ts';
import { sessionControlOf } from './admin/session-service.ts';
import { createAdminServices } from './admin/services.ts';
import { startApiServer, type ApiServer } from './api/api-server.ts';
import type { PortalServer } from './web/portal-web.ts';
import type { TlsIdentity } from './identity/identity.ts';
import { isLoopback } from './policy/defender.ts';
import { Metrics } from './metrics/metrics.ts';
import type { BoundListener, ProtocolAdapter } from './protocols/adapter.ts';
import { PROTOCOL_ADAPTERS } from './protocols/index.ts';
import { takeSnapshot } from './posture/snapshot.ts';
import { LocalVfs } from './vfs/local.ts';
import { startSuccessor, type HandOverResult } from './net/hand-over.ts';
import { unclaimedInheritedFds } from './net/inherited-listeners.ts';
import type { WorkerLink } from './workers/worker-link.ts';
import type { Primary } from './workers/supervisor.ts';

export interface RunningServer {
  core: Core;
  listeners: BoundListener[];
  health: HealthServer | null;
  metrics: Metrics | null;
  alerts: Alerts;
  control: ControlServer | null;
  /** The REST API and web admin (admin.enabled), null when off. */
  api: ApiServer | null;
  /** The self-service portal (portal.enabled), null when off. */
  portal: PortalServer | null;
  /** The scheduled doctor run (doctor.schedule). */
  doctor: DoctorSchedule;
  /** The scheduled scans (scans.schedule). */
  scans: ScanSchedule;
  /** Reloads the TLS certificate and, given a reader, the configuration (src/config/reload.ts). */
  reload(readConfig?: () => LoadedConfig): ReloadOutcome;
  /** The same, and with workers every worker's own reload too (SIGHUP, `portcullis reload`). */
  reloadAll(readConfig?: () => LoadedConfig): Promise<ReloadOutcome>;
  /**
   * Stops the server. With `drainMs`, it first stops accepting and lets transfers in progress
   * finish for up to that long (progress logged), then closes every session.
   */
  stop(options?: { drainMs?: number }): Promise<void>;
  /**
   * Starts a successor with this server's listening sockets (SIGUSR2) and resolves when it is
   * ready (then `stop({ drainMs })` drains here and leaves the control socket to it) or why it is
   * not (this one goes on serving).
   */
  handOver(): Promise<HandOverResult>;
  /** Ends a drain in progress at once (a second SIGTERM). */
  endDrain(): void;
}

function formatAddress(address: string, port: number): string {
  return address.includes(':') ? `[${address}]:${port}` : `${address}:${port}`;
}

/** What a reload did (SIGHUP, `portcullis reload`): also in the log and the audit trail. */
export interface ReloadOutcome {
  /** The configuration file: refused (the key and the reason), or the keys applied and those that wait for a restart. */
  configuration?: { ok: false; detail: string } | { ok: true; applied: string[]; restartNeeded: string[] };
  certificate: { ok: false; detail: string } | { ok: true; fingerprint: string; validTo: string };
  /** workers > 1: what each worker's own reload did (the primary's is above). */
  workers?: { worker: number; outcome?: ReloadOutcome; error?: string }[];
}

export interface StartOptions {
  /** This process was started by a hand-over from that pid (src/net/hand-over.ts). */
  predecessor?: number;
  /** workers > 1, in a worker: its link to the primary. It serves SFTP and FTPS only; the
   * primary runs the control socket, health, metrics, admin API, portal, alerts and schedules. */
  worker?: WorkerLink;
  /** workers > 1, in the primary: starts the workers (they serve SFTP and FTPS). */
  primary?: Primary;
}

export async function startServer(loaded: LoadedConfig, out: (line: string) => void = (l) => process.stdout.write(`${l}\n`), options: StartOptions = {}): Promise<RunningServer> {
  const { config } = loaded;
  const startedAt = new Date();
  const { worker, primary } = options;
  const core = await createCore(config, {
    ...(worker && { shared: (redis) => redis ?? worker, auditTo: { forward: (r) => worker.forwardAudit(r), accepting: () => worker.auditAccepting }, node: { tally: worker.tally, bans: worker.bans, onOthersLogins: (fn) => worker.onOthersLogins(fn) } }),
    ...(primary && { shared: (redis, audit, trail) => primary.hub(audit, redis, trail) }),
  });
  const adapters: ProtocolAdapter[] = [];
  const listeners: BoundListener[] = [];
  let health: HealthServer | null = null;
  // Subscribed before any listener starts, so the first connection is counted.
  // workers > 1: the primary counts from every worker's records (they all reach its bus) and
  // adds up the workers' open connections and sessions; a worker has none of its own.
  const metrics =
    config.metrics.enabled && !worker
      ? new Metrics(core.audit, {
          connections: () => (primary ? primary.connectionCount : core.admission.connectionCount),
          sessions: () => (primary ? primary.sessionCount : core.sessions.size),
          bans: () => core.access.defender.activeBans.length,
        })
      : null;
  const alerts = new Alerts({
    config,
    audit: core.audit,
    repo: config.audit.store ? core.store.audit : null,
    trail: core.trail,
    logger: core.logger,
    certificate: () => core.identity.tls,
    onDelivery: (channel, outcome) => metrics?.alertDelivery(channel, outcome),
  });
  // A worker's records reach the primary's bus, where its alerts see them: none here.
  if (worker) alerts.stop();
  let control: ControlServer | null = null;
  const controlContext = {
    snapshot: () => takeSnapshot(core, listeners, loaded, startedAt),
    // `portcullis reload`: the same as SIGHUP, the file this server was started with read again.
    reload: () => running.reloadAll(() => loadConfig({ file: loaded.file ?? undefined })),
  };
  let api: ApiServer | null = null;
  let portal: PortalServer | null = null;
  const doctor = new DoctorSchedule({ config, configFile: loaded.file, store: core.store, audit: core.audit, logger: core.logger });
  const scans = new ScanSchedule({
    config,
    scans: core.store.scans,
    audit: core.audit,
    logger: core.logger,
    listeners: () => listeners,
    ownCertificate: () => core.identity.tls.cert.toString('utf8'),
    exemptLoopback: (ms) => core.access.defender.exemptLoopback(ms),
  });
  try {
    if (!worker) await alerts.start();
    if (primary) listeners.push(...(await primary.startWorkers()));
    else {
      for (const factory of PROTOCOL_ADAPTERS) {
        const adapter = factory(core);
        if (!adapter) continue;
        adapters.push(adapter);
        listeners.push(...(await adapter.start()));
      }
    }
    if (worker) return startedWorker(core, adapters, listeners, worker, { alerts, doctor, scans });
    if (config.metrics.enabled) health = await startHealthServer(core, metrics, primary ? () => primary.readiness() : undefined);
    control = await startControlServer(core, controlContext);
    if (config.admin.enabled || config.portal.enabled) {
      const services = createAdminServices({
        store: core.store,
        audit: core.audit,
        config,
        sessions: sessionControlOf(core),
        defender: core.access.defender,
        mfa: core.mfa,
        snapshot: () => takeSnapshot(core, listeners, loaded, startedAt),
        scanner: scans,
        checkPassword: (name, hash, password, address) => core.checkPassword(name, hash, password, address),
      });
      if (config.portal.enabled) portal = await (await import('./web/portal-web.ts')).startPortalServer(core, services);
      if (config.admin.enabled) api = await startApiServer(core, services, { portalPort: portal?.port });
    }
  } catch (err) {
    await primary?.stop(0);
    await portal?.close();
    await api?.close();
    await control?.close();
    await Promise.all(adapters.map((a) => a.stop()));
    await health?.close();
    alerts.stop();
    metrics?.close();
    await core.close();
    throw err;
  }

  const rel = (f: string) => path.relative(config.dataDir, f) || f;
  out(`Portcullis started: data dir ${config.dataDir}${loaded.file ? `, config ${loaded.file}` : ', built-in defaults'}`);
  if (loaded.fromEnv.length > 0) out(`  from environment: ${loaded.fromEnv.join(', ')}`);
  if (core.identity.created.length > 0) out(`  created on first start: ${core.identity.created.map(rel).join(', ')}`);
  const { tls } = core.identity;
  out(`  TLS certificate ${tls.description} SHA256 ${tls.fingerprint} valid until ${tls.validTo} (${tls.subjectAltNames})`);
  for (const k of core.identity.hostKeys) out(`  SSH host key ${k.description} ${k.fingerprint}`);
  for (const l of listeners) out(`  ${l.name} listening on ${formatAddress(l.address, l.port)}`);
  if (primary) out(`  ${primary.count} worker processes share these listeners (workers: ${String(config.workers)})`);
  if (options.predecessor !== undefined) out(`  listening sockets taken over from pid ${options.predecessor}`);
  const unclaimed = unclaimedInheritedFds();
  if (unclaimed.length > 0) {
    core.logger.warn({ names: unclaimed }, 'inherited listening sockets that no listener uses (their names must be sftp, ftps or ftps-implicit): closed');
    out(`  WARNING: inherited sockets not used: ${unclaimed.join(', ')} (FileDescriptorName= must be sftp, ftps or ftps-implicit)`);
  }
  if (api) out(`  admin API listening on ${api.url}`);
  if (api && !isLoopback(config.admin.address)) {
    core.logger.warn({ address: config.admin.address }, 'admin.address is not loopback: the REST API is reachable from the network');
    out(`  WARNING: admin.address ${config.admin.address} is not loopback: the REST API is reachable from the network (restrict it with tokens' --from, deny rules for admin, a firewall)`);
  }
  if (api && config.admin.web) out(`  web admin on ${api.url}/ui/ (admins: \`portcullis admin account create NAME --password-stdin\`)`);
  if (portal) out(`  portal listening on ${portal.url}`);
  if (health) out(`  health listening on http://${formatAddress(health.address, health.port)}/healthz`);
  const disabled = (['sftp', 'ftps'] as const).filter((p) => config[p].enabled && !listeners.some((l) => l.name.startsWith(p)));
  if (disabled.length > 0) out(`  not available in this build yet: ${disabled.join(', ')}`);
  if (config.ftps.allowPlaintext) {
    core.logger.warn('ftps.allowPlaintext is on: FTP logins are accepted without TLS; credentials may cross in clear');
    out('  WARNING: ftps.allowPlaintext is on: logins without TLS are accepted');
  }
  if (config.ftps.enabled && config.ftps.dataTlsSessionReuse === 'optional') {
    core.logger.warn('ftps.dataTlsSessionReuse is optional: a data connection is tied to its session by address only; another client at that address can take a transfer over');
    out('  WARNING: ftps.dataTlsSessionReuse is optional: FTPS data connections need not resume the control TLS session');
  }
  if (config.sftp.enabled && config.sftp.legacyAlgorithms.length > 0) out(`  WARNING: sftp.legacyAlgorithms enables weaker SSH algorithms: ${config.sftp.legacyAlgorithms.join(', ')}`);
  core.audit.emit({ type: 'server.started', listeners: listeners.map((l) => `${l.name} ${formatAddress(l.address, l.port)}`), ...(options.predecessor !== undefined ? { predecessor: options.predecessor } : {}) });
  doctor.start();
  scans.start();
  health?.setReady(true);
  out('ready');
  void sweepUploadLeftovers(core, new Date(performance.timeOrigin));

  let stopping: Promise<void> | null = null;
  let endDrain: (() => void) | undefined;
  let handingOver: Promise<HandOverResult> | null = null;
  let handedOver = false;
  const running: RunningServer = {
    core,
    listeners,
    health,
    metrics,
    alerts,
    get control() {
      return control;
    },
    api,
    portal,
    doctor,
    scans,
    reload(readConfig) {
      const outcome: ReloadOutcome = { certificate: { ok: false, detail: '' } };
      if (readConfig) outcome.configuration = reloadConfiguration(core, config, readConfig);
      outcome.certificate = reloadCertificate(core, [...adapters, api, portal]);
      if (outcome.certificate.ok) {
        core.logger.info({ fingerprint: outcome.certificate.fingerprint, validTo: outcome.certificate.validTo }, 'TLS certificate reloaded');
        core.audit.emit({ type: 'config.reload.completed', what: 'tls-certificate' });
        alerts.checkCertificate();
      } else {
        core.logger.error({ err: outcome.certificate.detail }, 'TLS certificate reload failed; the previous certificate stays in use');
        core.audit.emit({ type: 'config.reload.failed', what: 'tls-certificate', detail: outcome.certificate.detail });
      }
      return outcome;
    },
    async reloadAll(readConfig) {
      const outcome = running.reload(readConfig);
      // workers > 1: each worker reads the file again and reloads its own certificate and keys.
      if (primary) outcome.workers = await primary.reloadWorkers();
      return outcome;
    },
    endDrain() {
      endDrain?.();
      primary?.endDrain();
    },
    handOver() {
      if (stopping) return Promise.resolve({ ok: false, reason: 'the server is stopping already' });
      if (primary) {
        const reason = `hand-over (SIGUSR2) is not available with workers: ${String(config.workers)}; restart with socket activation, or set workers: 1 (docs/workers.md)`;
        core.logger.error(reason);
        core.audit.emit({ type: 'server.handover.failed', detail: reason });
        return Promise.resolve({ ok: false, reason });
      }
      handingOver ??= (async () => {
        const sockets = adapters.flatMap((a) => a.listeningSockets());
        core.logger.info({ listeners: sockets.map((l) => l.name) }, 'hand-over: starting a new process with the listening sockets');
        // The control socket is a path, and closing it unlinks the path (libuv), even at exit: it
        // is given up before the successor binds its own, so that ours can never remove theirs.
        // `portcullis sessions` and `reload` find no server for the second this takes.
        await control?.close();
        control = null;
        const result = await startSuccessor(sockets);
        if (!result.ok) {
          control = await startControlServer(core, controlContext).catch(() => null);
          core.logger.error({ reason: result.reason }, `hand-over failed: ${result.reason}; this process goes on serving`);
          core.audit.emit({ type: 'server.handover.failed', detail: result.reason.slice(0, 300) });
          return result;
        }
        core.logger.info({ successor: result.pid }, `hand-over: pid ${result.pid} is serving; draining here`);
        core.audit.emit({ type: 'server.handover', successor: result.pid });
        handedOver = true;
        return result;
      })().finally(() => (handingOver = null));
      return handingOver;
    },
    stop(options = {}) {
      stopping ??= (async () => {
        health?.setReady(false);
        // workers > 1: the workers drain their transfers (the same deadline) and exit first.
        if (primary) await primary.stop(options.drainMs ?? 0);
        if (options.drainMs) {
          for (const a of adapters) a.stopAccepting();
          await drainTransfers(core, options.drainMs, new Promise<void>((resolve) => (endDrain = resolve)), handedOver);
        }
        await doctor.stop();
        await scans.stop();
        await control?.close();
        await api?.close();
        await portal?.close();
        await Promise.all(adapters.map((a) => a.stop()));
        await health?.close();
        core.audit.emit({ type: 'server.stopped' });
        alerts.stop();
        await core.close();
        metrics?.close();
      })();
      return stopping;
    },
  };
  return running;
}

/**
 * A worker (workers > 1): its adapters and core only. It drains like one process on `stop`,
 * tells the primary how many sessions it holds (its connections are counted by the primary's
 * tally), and reloads what a reload
 * reloads in one process (the TLS certificate, the live keys).
 */
function startedWorker(core: Core, adapters: ProtocolAdapter[], listeners: BoundListener[], link: WorkerLink, idle: { alerts: Alerts; doctor: DoctorSchedule; scans: ScanSchedule }): RunningServer {
  const { config } = core;
  const stats = setInterval(() => link.stats(core.sessions.size), LIMITS.workerStatsMs);
  stats.unref();
  let stopping: Promise<void> | null = null;
  let endDrain: (() => void) | undefined;
  const running: RunningServer = {
    core,
    listeners,
    health: null,
    metrics: null,
    ...idle,
    control: null,
    api: null,
    portal: null,
    reload(readConfig) {
      const outcome: ReloadOutcome = { certificate: { ok: false, detail: '' } };
      if (readConfig) outcome.configuration = reloadConfiguration(core, config, readConfig);
      outcome.certificate = reloadCertificate(core, adapters);
      return outcome;
    },
    reloadAll: (readConfig) => Promise.resolve(running.reload(readConfig)),
    endDrain: () => endDrain?.(),
    handOver: () => Promise.resolve({ ok: false, reason: 'a worker does not hand over (its primary owns the listening sockets)' }),
    stop(options = {}) {
      stopping ??= (async () => {
        clearInterval(stats);
        if (options.drainMs) {
          for (const a of adapters) a.stopAccepting();
          await drainTransfers(core, options.drainMs, new Promise<void>((resolve) => (endDrain = resolve)), false);
        }
        await Promise.all(adapters.map((a) => a.stop()));
        await core.close();
        await link.close();
      })();
      return stopping;
    },
  };
  return running;
}

/**
 * The drain on SIGTERM: the listeners are closed (new connections refused by the
 * kernel) and sessions with a transfer in progress keep going until none is left, the deadline
 * passes, or `ended` resolves (a second SIGTERM). Progress is logged every LIMITS.drainProgressMs.
 */
async function drainTransfers(core: Core, ms: number, ended: Promise<void>, handedOver: boolean): Promise<void> {
  const deadline = Date.now() + ms;
  let over = false;
  void ended.then(() => (over = true));
  let logged = 0;
  for (;;) {
    const transfers = [...core.sessions.values()].flatMap((s) => s.currentTransfers());
    // Connections accepted just before the listeners closed are still logging in: they get
    // their chance too (bounded by limits.loginTimeoutMs, which drops them anyway).
    const loggingIn = core.admission.unauthenticatedCount;
    if (transfers.length === 0 && loggingIn === 0) {
      core.logger.info('drain complete: no transfer in progress');
      return;
    }
    if (over || Date.now() >= deadline) {
      core.logger.warn({ transfers: transfers.length }, `drain ended ${over ? 'by a second signal' : `after limits.drainTimeoutMs (${ms} ms)`}: ${transfers.length} transfer(s) will be cut (unfinished uploads are discarded)`);
      return;
    }
    if (Date.now() - logged >= LIMITS.drainProgressMs) {
      logged = Date.now();
      const bytes = transfers.reduce((n, t) => n + t.bytes, 0);
      const elsewhere = handedOver ? 'new connections go to the new process' : 'new connections refused';
      core.logger.info({ transfers: transfers.length, loggingIn, bytes, secondsLeft: Math.round((deadline - Date.now()) / 1000) }, `draining: ${transfers.length} transfer(s) still running, ${elsewhere}; send SIGTERM again to stop at once`);
    }
    await new Promise((r) => setTimeout(r, 200));
  }
}

/**
 * Reads the configuration again: an invalid one is refused (the key and the reason in the log
 * and the audit trail) and the running one stays; of a valid one the live keys apply at once
 * and the rest are named as needing a restart. No session is touched.
 */
function reloadConfiguration(core: Core, config: Config, readConfig: () => LoadedConfig): NonNullable<ReloadOutcome['configuration']> {
  let next: Config;
  try {
    next = readConfig().config;
  } catch (err) {
    const detail = (err as Error).message.slice(0, 500);
    core.logger.error({ err: detail }, 'configuration reload refused: the running configuration stays; fix the key named and reload again');
    core.audit.emit({ type: 'config.reload.failed', what: 'configuration', detail });
    return { ok: false, detail };
  }
  const plan = planReload(config, next);
  applyLive(config, next, plan.live);
  // Address rules are compiled: recompile them from the updated configuration now.
  if (plan.live.some((k) => k.startsWith('access.'))) void core.access.refresh(true).catch((err: Error) => core.logger.error({ err: err.message }, 'recompiling address rules after reload failed'));
  core.logger.info({ applied: plan.live, restartNeeded: plan.restart }, plan.restart.length ? `configuration reloaded; restart to apply: ${plan.restart.join(', ')}` : 'configuration reloaded');
  core.audit.emit({ type: 'config.reload.completed', what: 'configuration', applied: plan.live, restartNeeded: plan.restart });
  return { ok: true, applied: plan.live, restartNeeded: plan.restart };
}

/**
 * Upload temporaries of a killed server stay hidden in homes (issue 14.9): removed in the
 * background at start, one audit record per home that had any. Only files older than this
 * process are taken, so uploads of sessions opened meanwhile are never touched.
 */
async function sweepUploadLeftovers(core: Core, before: Date): Promise<void> {
  try {
    const homes = new Set((await core.store.users.list()).map((u) => u.home));
    for (const home of homes) {
      const { files, bytes } = await LocalVfs.sweepUploadLeftovers(home, before);
      if (files === 0) continue;
      core.logger.info({ home, files, bytes }, 'removed upload leftovers of a previous run (killed during uploads)');
      core.audit.emit({ type: 'storage.leftovers.removed', home, files, bytes });
    }
  } catch (err) {
    core.logger.warn({ err: (err as Error).message }, 'sweeping upload leftovers failed; they stay until the next start');
  }
}


/** Reads the TLS certificate again and hands it to every listener that serves it; on failure the
 * previous certificate stays in use everywhere. */
function reloadCertificate(core: Core, users: readonly ({ reloadTls?(tls: TlsIdentity): void } | null)[]): ReloadOutcome['certificate'] {
  try {
    const next = reloadTls(core.identity.tls);
    (core.identity as { tls: typeof next }).tls = next;
    for (const u of users) u?.reloadTls?.(next);
    return { ok: true, fingerprint: next.fingerprint, validTo: next.validTo };
  } catch (err) {
    return { ok: false, detail: (err as Error).message.slice(0, 300) };
  }
}
