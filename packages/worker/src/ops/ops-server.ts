import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Registry } from 'prom-client';
import type { WorkerReadiness } from './worker-readiness.js';

export interface OpsServer {
  port: number;
  close(): Promise<void>;
}

/**
 * The worker's only HTTP: `/health/live`, `/health/ready` (its workers are running, Redis
 * answers and FastDFS has a storage server to store in; which check failed, never why) and
 * `/metrics` for Prometheus. Plain node:http: three fixed routes do not need a framework in
 * the image-processing process.
 */
export async function startOpsServer(options: { host: string; port: number; registry: Registry; ready: () => Promise<WorkerReadiness> }): Promise<OpsServer> {
  const server: Server = createServer((request, response) => {
    const path = (request.url ?? '/').split('?')[0];
    const answer = (status: number, type: string, body: string): void => {
      response.writeHead(status, { 'content-type': type, 'cache-control': 'no-store' }).end(body);
    };
    if (request.method !== 'GET') return answer(405, 'text/plain', 'method not allowed');
    if (path === '/health/live') return answer(200, 'application/json', '{"status":"ok"}');
    if (path === '/health/ready') {
      void options.ready().then(
        ({ ready, checks }) => answer(ready ? 200 : 503, 'application/json', JSON.stringify({ status: ready ? 'ready' : 'unavailable', checks })),
        () => answer(503, 'application/json', '{"status":"unavailable"}'),
      );
      return;
    }
    if (path === '/metrics') {
      void options.registry.metrics().then(
        (text) => answer(200, options.registry.contentType, text),
        () => answer(500, 'text/plain', 'metrics unavailable'),
      );
      return;
    }
    answer(404, 'text/plain', 'not found');
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port, options.host, () => resolve());
  });
  return {
    port: (server.address() as AddressInfo).port,
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}
