import { Counter, Histogram, type Registry } from 'prom-client';

export interface ApiMetrics {
  uploadsAccepted: Counter<'replayed'>;
  uploadsRefused: Counter<'code'>;
  httpDuration: Histogram<'method' | 'route' | 'status'>;
}

export function createApiMetrics(registry: Registry): ApiMetrics {
  return {
    uploadsAccepted: new Counter({ name: 'avatar_uploads_accepted_total', help: 'Uploads answered 202', labelNames: ['replayed'], registers: [registry] }),
    uploadsRefused: new Counter({ name: 'avatar_uploads_refused_total', help: 'Uploads refused, by error code', labelNames: ['code'], registers: [registry] }),
    httpDuration: new Histogram({
      name: 'http_request_duration_seconds',
      help: 'HTTP request duration',
      labelNames: ['method', 'route', 'status'],
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
      registers: [registry],
    }),
  };
}
