import { ERROR_CODES } from '../../shared/errors/index.js';
import type { JsonSchema, RouteSpec } from '../http/route.js';

const errorEnvelope = {
  type: 'object',
  required: ['error'],
  properties: {
    error: {
      type: 'object',
      required: ['code', 'message', 'details'],
      properties: {
        code: { type: 'string', enum: Object.keys(ERROR_CODES) },
        message: { type: 'string' },
        details: { type: ['object', 'null'] },
      },
    },
  },
};

function stripIds(schema: JsonSchema): JsonSchema {
  return JSON.parse(JSON.stringify(schema, (key, value: unknown) => (key === '$id' || key === '$schema' ? undefined : value))) as JsonSchema;
}

function parametersOf(schema: JsonSchema | undefined, where: 'query' | 'path'): unknown[] {
  const properties = (schema?.['properties'] ?? {}) as Record<string, JsonSchema>;
  const required = new Set((schema?.['required'] ?? []) as string[]);
  return Object.entries(properties).map(([name, s]) => ({
    name, in: where, required: where === 'path' || required.has(name), schema: stripIds(s),
    ...(typeof s['description'] === 'string' ? { description: s['description'] } : {}),
  }));
}

function operationOf(route: RouteSpec): Record<string, unknown> {
  const responses: Record<string, unknown> = {};
  for (const [status, response] of Object.entries(route.responses)) {
    responses[status] = {
      description: response.description,
      ...(response.schema ? { content: { [response.contentType ?? 'application/json']: { schema: stripIds(response.schema) } } } : {}),
    };
  }
  const errorStatuses = new Set<number>([400, 500]);
  if (route.auth !== 'none') { errorStatuses.add(401); errorStatuses.add(403); }
  if (route.rateLimit !== false) errorStatuses.add(429);
  for (const code of route.errors ?? []) {
    const known = ERROR_CODES[code as keyof typeof ERROR_CODES];
    if (known) errorStatuses.add(known.status);
  }
  for (const status of errorStatuses) {
    responses[String(status)] ??= { description: 'Error', content: { 'application/json': { schema: { $ref: '#/components/schemas/Error' } } } };
  }
  return {
    operationId: route.operationId,
    summary: route.summary,
    tags: route.tags,
    ...(route.auth !== 'none' ? { security: [{ bearerAuth: [] }], description: `Requires role \`${route.auth}\` or higher.` } : { security: [] }),
    parameters: [
      ...parametersOf(route.params, 'path'), ...parametersOf(route.query, 'query'),
      ...(route.idempotency ? [{ name: 'X-Idempotency-Key', in: 'header', required: route.idempotency === 'required', schema: { type: 'string', format: 'uuid' }, description: 'Same key and body within 24 h: the stored response is replayed; same key, other request: 409 conflict.' }] : []),
    ],
    ...(route.body || route.requestContentType
      ? { requestBody: { required: true, content: { [route.requestContentType ?? 'application/json']: { schema: stripIds(route.body ?? { type: 'object' }) } } } }
      : {}),
    responses,
  };
}

/** The default `jsonSchemaDialect` of OpenAPI 3.1. */
export const OAS_BASE_DIALECT = 'https://spec.openapis.org/oas/3.1/dialect/base';

/** The OpenAPI 3.1 document of `routes`, generated from the same schemas that validate requests. */
export function buildOpenApi(routes: RouteSpec[], info: { version: string; serverUrl: string }): Record<string, unknown> {
  const paths: Record<string, Record<string, unknown>> = {};
  for (const route of routes) {
    const path = route.path.replace(/:([A-Za-z_][A-Za-z0-9_]*)/g, '{$1}');
    (paths[path] ??= {})[route.method.toLowerCase()] = operationOf(route);
  }
  return {
    openapi: '3.1.0',
    info: { title: 'Vidivo call backend API', version: info.version, description: 'REST API for accounts, call links, calls and payments. WebSocket signaling is described in docs/signaling.md.' },
    servers: [{ url: info.serverUrl }],
    // The OAS 3.1 base dialect (JSON Schema 2020-12 plus the OpenAPI vocabulary), which is what the
    // schemas are; Swagger UI shows a warning box for any other value.
    jsonSchemaDialect: OAS_BASE_DIALECT,
    paths,
    components: {
      schemas: { Error: errorEnvelope },
      securitySchemes: { bearerAuth: { type: 'http', scheme: 'bearer', bearerFormat: 'JWT' } },
    },
  };
}
