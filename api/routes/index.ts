import type { RouteSpec } from '../http/route.js';
import { AdminUsersService } from '../services/admin/admin-users.js';
import type { ApiServices } from '../services/index.js';
import { adminRoutes } from './admin.js';
import { authRoutes } from './auth.js';
import { callRoutes } from './calls.js';
import { callRecordRoutes } from './call-records.js';
import { CallRecordsService } from '../services/payments/call-records.js';
import { UsageExportService } from '../services/payments/usage-export.js';
import { chatRoutes } from './chat.js';
import { chatImageRoutes } from './chat-images.js';
import { chatFollowRoutes } from './chat-follows.js';
import { docsRoutes } from './docs.js';
import { healthRoutes } from './health.js';
import { jwksRoutes } from './jwks.js';
import { linkRoutes } from './links.js';
import { paymentMethodRoutes } from './payment-methods.js';
import { paymentRoutes } from './payments.js';
import { connectRoutes } from './payments-connect.js';
import { paymentWebhookRoutes } from './payments-webhooks.js';
import { searchRoutes } from './search.js';
import { userRoutes } from './users.js';

/** Every route of the API, in one inspectable table (the OpenAPI document is built from it). */
export function buildRoutes(services: ApiServices, openapi: (routes: RouteSpec[]) => Record<string, unknown>): RouteSpec[] {
  const routes: RouteSpec[] = [
    ...healthRoutes(services.probes),
    ...jwksRoutes(() => services.keyRing),
    ...authRoutes(services.auth),
    ...userRoutes({ users: services.callServices.profiles, avatars: services.callServices.avatars, avatarMaxBytes: services.callServices.avatarMaxBytes }),
    ...searchRoutes({ users: services.callServices.profiles }),
    ...linkRoutes({ links: services.callServices.links }),
    ...callRoutes({ calls: services.callServices.calls }),
    ...callRecordRoutes({
      calls: services.callServices.calls,
      records: new CallRecordsService({ db: services.db, payments: services.billing.payments, billed: services.billing.billed, ring: () => services.keyRing, issuer: services.config.auth.issuer }),
      usage: new UsageExportService({ db: services.db, payments: services.billing.payments, billed: services.billing.billed }),
    }),
    ...paymentWebhookRoutes({ webhooks: services.payments.webhooks }),
    ...paymentMethodRoutes({ methods: services.payments.methods }),
    ...connectRoutes({ connect: services.payments.connect }),
    ...paymentRoutes({ ...services.payments, users: services.users }),
    ...chatRoutes({ conversations: services.chat.conversations, core: services.chat.core, maxTextChars: services.chat.maxTextChars }),
    ...chatImageRoutes({ images: services.chat.images, maxBytes: services.chat.imageMaxBytes, urlOf: services.chat.imageUrl }),
    ...chatFollowRoutes({ follows: services.chat.follows, broadcasts: services.chat.broadcasts, users: services.users, maxTextChars: services.chat.maxTextChars }),
    ...adminRoutes({ users: new AdminUsersService({ users: services.users, passwords: services.auth.passwords, rates: services.config.calls.rate, log: services.log }) }),
  ];
  routes.push(...docsRoutes(() => openapi(routes)));
  return routes;
}
