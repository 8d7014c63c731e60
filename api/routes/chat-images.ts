import type { AppContext } from '../http/context.js';
import { ok } from '../http/envelope.js';
import { defineRoutes, type RouteSpec } from '../http/route.js';
import { imageView, type ChatImagesService } from '../services/chat/images-service.js';
import { singleFileUpload } from './users.js';

const IMAGE_VIEW_SCHEMA = {
  type: 'object', required: ['id', 'content_type', 'size', 'width', 'height', 'url', 'created_at'],
  properties: {
    id: { type: 'string' }, content_type: { enum: ['image/jpeg', 'image/png', 'image/webp'] }, size: { type: 'integer' },
    width: { type: 'integer' }, height: { type: 'integer' }, url: { type: 'string' }, created_at: { type: 'string', format: 'date-time' },
  },
} as const;

/** `POST /v1/chat/images` and `GET /v1/chat/images/:id` (spec 002's message images, under `/v1`). */
export function chatImageRoutes(deps: { images: ChatImagesService; maxBytes: number; urlOf: (id: string) => string; now?: () => Date }): RouteSpec[] {
  const now = deps.now ?? (() => new Date());
  const me = (ctx: AppContext) => ctx.state.principal!.userId;
  return defineRoutes([
    {
      method: 'POST', path: '/v1/chat/images', operationId: 'uploadChatImage', summary: 'Upload an image to attach to messages (JPEG, PNG or WebP judged by its bytes; multipart field `image`).', tags: ['chat'], auth: 'guest',
      requestContentType: 'multipart/form-data',
      body: { type: 'object', required: ['image'], properties: { image: { type: 'string', contentMediaType: 'application/octet-stream' } } },
      before: [singleFileUpload('image', deps.maxBytes)],
      errors: ['payload_too_large', 'unsupported_media_type'],
      responses: { 201: { description: 'The stored image; send its `id` as a message\'s `image_id`.', schema: { type: 'object', properties: { success: { const: true }, data: IMAGE_VIEW_SCHEMA } } } },
      handler: async (ctx) => {
        const image = await deps.images.upload(me(ctx), (ctx.state.body as { image: Buffer }).image, now());
        ok(ctx, imageView(image, deps.urlOf(image.id)), 201);
      },
    },
    {
      method: 'GET', path: '/v1/chat/images/:id', operationId: 'getChatImage', summary: 'A chat image, for its uploader and the members of conversations where it was sent.', tags: ['chat'], auth: 'guest',
      params: { type: 'object', required: ['id'], properties: { id: { type: 'string', minLength: 1, maxLength: 64 } } },
      errors: ['not_found'],
      responses: { 200: { description: 'The image bytes.', contentType: 'image/*', schema: { type: 'string', contentMediaType: 'image/*' } } },
      handler: async (ctx) => {
        const { image, bytes } = await deps.images.read(me(ctx), String(ctx.state.params!['id']));
        ctx.set('ETag', image.etag);
        ctx.set('Cache-Control', 'private, max-age=31536000, immutable');
        ctx.set('X-Content-Type-Options', 'nosniff');
        ctx.set('Content-Security-Policy', "default-src 'none'");
        ctx.type = image.content_type;
        ctx.body = bytes;
      },
    },
  ]);
}
