import type { RouteSpec } from '../http/route.js';
import type { ApiServices } from '../services/index.js';
import { authRoutes } from './auth.js';
import { docsRoutes } from './docs.js';
import { healthRoutes } from './health.js';
import { jwksRoutes } from './jwks.js';
import { userRoutes } from './users.js';

/** Every route of the API, in one inspectable table (the OpenAPI document is built from it). */
export function buildRoutes(services: ApiServices, openapi: (routes: RouteSpec[]) => Record<string, unknown>): RouteSpec[] {
  const routes: RouteSpec[] = [
    ...healthRoutes(services.probes),
    ...jwksRoutes(() => services.keyRing),
    ...authRoutes(services.auth),
    ...userRoutes(services.users),
  ];
  routes.push(...docsRoutes(() => openapi(routes)));
  return routes;
}
