import type { RouteSpec } from '../http/route.js';
import { AdminUsersService } from '../services/admin/admin-users.js';
import type { ApiServices } from '../services/index.js';
import { adminRoutes } from './admin.js';
import { authRoutes } from './auth.js';
import { callRoutes } from './calls.js';
import { docsRoutes } from './docs.js';
import { healthRoutes } from './health.js';
import { jwksRoutes } from './jwks.js';
import { linkRoutes } from './links.js';
import { metricsRoutes } from './metrics.js';
import { searchRoutes } from './search.js';
import { userRoutes } from './users.js';

/** Every route of the API, in one inspectable table (the OpenAPI document is built from it). */
export function buildRoutes(services: ApiServices, openapi: (routes: RouteSpec[]) => Record<string, unknown>): RouteSpec[] {
  const routes: RouteSpec[] = [
    ...healthRoutes(services.probes),
    ...metricsRoutes(services.metrics.registry),
    ...jwksRoutes(() => services.keyRing),
    ...authRoutes(services.auth),
    ...userRoutes({ users: services.callServices.profiles, avatars: services.callServices.avatars, avatarMaxBytes: services.callServices.avatarMaxBytes }),
    ...searchRoutes({ users: services.callServices.profiles }),
    ...linkRoutes({ links: services.callServices.links }),
    ...callRoutes({ calls: services.callServices.calls }),
    ...adminRoutes({ users: new AdminUsersService({ users: services.users, passwords: services.auth.passwords, rates: services.config.calls.rate, log: services.log }) }),
  ];
  routes.push(...docsRoutes(() => openapi(routes)));
  return routes;
}
