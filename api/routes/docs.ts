import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { absolutePath } from 'swagger-ui-dist';
import { AppError } from '../../shared/errors/index.js';
import { defineRoutes, type RouteSpec } from '../http/route.js';

const ASSETS: Record<string, string> = {
  'swagger-ui.css': 'text/css; charset=utf-8',
  'swagger-ui-bundle.js': 'text/javascript; charset=utf-8',
  'swagger-ui-standalone-preset.js': 'text/javascript; charset=utf-8',
};

const PAGE = `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Vidivo API</title>
<link rel="stylesheet" href="/docs/assets/swagger-ui.css"></head>
<body><div id="ui"></div>
<script src="/docs/assets/swagger-ui-bundle.js"></script>
<script>window.ui = SwaggerUIBundle({ url: '/openapi.json', dom_id: '#ui', validatorUrl: null });</script>
</body></html>`;

/** `/openapi.json` (generated on first request) and a Swagger UI page at `/docs`, served locally. */
export function docsRoutes(document: () => Record<string, unknown>): RouteSpec[] {
  let cached: string | undefined;
  const assetDir = absolutePath();
  return defineRoutes([
    {
      method: 'GET', path: '/openapi.json', operationId: 'openapi', summary: 'This OpenAPI 3.1 document.', tags: ['docs'],
      auth: 'none', rateLimit: false,
      responses: { 200: { description: 'OpenAPI 3.1 document.', schema: { type: 'object' } } },
      handler: (ctx) => {
        cached ??= JSON.stringify(document());
        ctx.type = 'application/json';
        ctx.body = cached;
      },
    },
    {
      method: 'GET', path: '/docs', operationId: 'docsPage', summary: 'Human-readable API reference (Swagger UI).', tags: ['docs'],
      auth: 'none', rateLimit: false,
      responses: { 200: { description: 'HTML page.', contentType: 'text/html', schema: { type: 'string' } } },
      handler: (ctx) => { ctx.type = 'text/html; charset=utf-8'; ctx.body = PAGE; },
    },
    {
      method: 'GET', path: '/docs/assets/:file', operationId: 'docsAsset', summary: 'Swagger UI static asset.', tags: ['docs'],
      auth: 'none', rateLimit: false,
      params: { type: 'object', required: ['file'], properties: { file: { type: 'string', enum: Object.keys(ASSETS) } } },
      responses: { 200: { description: 'Static file.' } },
      handler: async (ctx) => {
        const file = String(ctx.state.params?.['file']);
        const type = ASSETS[file];
        if (!type) throw new AppError('not_found');
        ctx.type = type;
        ctx.set('Cache-Control', 'public, max-age=86400');
        ctx.body = await readFile(join(assetDir, file));
      },
    },
  ]);
}
