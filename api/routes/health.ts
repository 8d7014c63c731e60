import { ok } from '../http/envelope.js';
import { defineRoutes, type RouteSpec } from '../http/route.js';
import { AppError } from '../../shared/errors/index.js';
import { runProbe, type ReadinessProbe } from '../services/readiness.js';

const statusSchema = {
  type: 'object',
  required: ['success', 'data'],
  properties: {
    success: { const: true },
    data: { type: 'object', required: ['status'], properties: { status: { enum: ['ok', 'ready', 'degraded'] }, checks: { type: 'object', additionalProperties: { enum: ['up', 'down'] } } } },
  },
};

/** Liveness (`/health-check`) and readiness (`/ready`) routes. */
export function healthRoutes(probes: ReadinessProbe[]): RouteSpec[] {
  return defineRoutes([
    {
      method: 'GET', path: '/health-check', operationId: 'healthCheck', summary: 'Liveness: the process is serving HTTP.',
      tags: ['health'], auth: 'none', rateLimit: false,
      responses: { 200: { description: 'Alive.', schema: statusSchema } },
      handler: (ctx) => ok(ctx, { status: 'ok' }),
    },
    {
      method: 'GET', path: '/ready', operationId: 'readiness', summary: 'Readiness: MongoDB and Redis reachable.',
      tags: ['health'], auth: 'none', rateLimit: false,
      responses: { 200: { description: 'Ready, or degraded (an optional dependency is down).', schema: statusSchema }, 503: { description: 'A required dependency is down.' } },
      handler: async (ctx) => {
        const results = await Promise.all(probes.map(async (p) => [p, await runProbe(p)] as const));
        const checks = Object.fromEntries(results.map(([p, s]) => [p.name, s]));
        if (results.some(([p, s]) => p.required && s === 'down')) {
          throw new AppError('service_unavailable', { message: 'A required dependency is unavailable.', details: { checks } });
        }
        ok(ctx, { status: results.some(([, s]) => s === 'down') ? 'degraded' : 'ready', checks });
      },
    },
  ]);
}
