// The operations HTTP listener (metrics.address:metrics.port, loopback by default):
// /healthz (the process is alive) and /readyz (listeners are up and the store answers).
// /metrics: Prometheus text from src/metrics (fed by the audit events).
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { sql } from 'kysely';
import type { Core } from '../app.ts';
import type { Metrics } from '../metrics/metrics.ts';

export interface HealthServer {
  address: string;
  port: number;
  setReady(ready: boolean): void;
  close(): Promise<void>;
}

/** workers > 1: how many workers should serve and how many do (/readyz says so). */
export type WorkerReadiness = () => { expected: number; serving: number };

export async function startHealthServer(core: Core, metrics: Metrics | null = null, workers?: WorkerReadiness): Promise<HealthServer> {
  let ready = false;
  const server = http.createServer((req, res) => {
    const send = (status: number, body: string): void => {
      res.writeHead(status, { 'content-type': 'text/plain; charset=utf-8', 'cache-control': 'no-store', 'x-content-type-options': 'nosniff' });
      res.end(`${body}\n`);
    };
    if (req.method !== 'GET' && req.method !== 'HEAD') return send(405, 'method not allowed');
    const url = (req.url ?? '/').split('?')[0];
    if (url === '/healthz') return send(200, 'ok');
    if (url === '/readyz') {
      if (!ready) return send(503, 'starting');
      const w = workers?.();
      // A worker down (restarting) still leaves the others serving: ready, and it says so.
      if (w && w.serving === 0) return send(503, `no worker serving (0 of ${w.expected})`);
      sql`select 1`.execute(core.store.db).then(
        () => send(200, w && w.serving < w.expected ? `ready (${w.serving} of ${w.expected} workers serving)` : 'ready'),
        () => send(503, 'store unavailable'),
      );
      return;
    }
    if (url === '/metrics' && metrics) {
      metrics.registry.metrics().then(
        (body) => {
          res.writeHead(200, { 'content-type': metrics.registry.contentType, 'cache-control': 'no-store', 'x-content-type-options': 'nosniff' });
          res.end(body);
        },
        () => send(500, 'metrics unavailable'),
      );
      return;
    }
    send(404, 'not found');
  });
  server.headersTimeout = 10_000;
  server.requestTimeout = 10_000;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    // SECURITY: SO_REUSEPORT lets a successor bind the port during a hand-over (SIGUSR2);
    // Linux shares a port only between sockets of the same user, so no other account can join.
    server.listen({ host: core.config.metrics.address, port: core.config.metrics.port, reusePort: true }, () => resolve());
  });
  const bound = server.address() as AddressInfo;
  return {
    address: bound.address,
    port: bound.port,
    setReady: (r) => {
      ready = r;
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
