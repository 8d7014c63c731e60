import type { Registry } from 'prom-client';
import { defineRoutes, type RouteSpec } from '../http/route.js';

/** `GET /metrics`: the API's Prometheus metrics (request counts and durations, event loop lag, process). */
export function metricsRoutes(registry: Registry): RouteSpec[] {
  return defineRoutes([
    {
      method: 'GET', path: '/metrics', operationId: 'metrics', summary: 'Prometheus metrics of this API process.',
      tags: ['health'], auth: 'none', rateLimit: false,
      responses: { 200: { description: 'Prometheus text exposition format.', contentType: 'text/plain', schema: { type: 'string' } } },
      handler: async (ctx) => {
        ctx.type = registry.contentType;
        ctx.body = await registry.metrics();
      },
    },
  ]);
}
