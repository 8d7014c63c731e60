import type { KeyRing } from '../../shared/tokens/index.js';
import { defineRoutes, type RouteSpec } from '../http/route.js';

/** `GET /.well-known/jwks.json`: the public keys that verify every token this API issues. */
export function jwksRoutes(ring: () => KeyRing): RouteSpec[] {
  return defineRoutes([
    {
      method: 'GET', path: '/.well-known/jwks.json', operationId: 'jwks', summary: 'Public signing keys (JWKS).', tags: ['auth'],
      auth: 'none', rateLimit: false,
      responses: { 200: { description: 'JSON Web Key Set.', schema: { type: 'object', required: ['keys'], properties: { keys: { type: 'array', items: { type: 'object' } } } } } },
      handler: (ctx) => {
        ctx.set('Cache-Control', 'public, max-age=300');
        ctx.body = ring().jwks();
      },
    },
  ]);
}
