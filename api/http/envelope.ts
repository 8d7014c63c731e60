import type { AppContext } from './context.js';

export interface Pagination {
  page: number;
  per_page: number;
  total: number;
  total_pages: number;
}

export interface PageRequest {
  page: number;
  perPage: number;
  skip: number;
}

/** JSON Schema of the `page`/`per_page` query parameters (spec 000), to merge into list queries. */
export const PAGINATION_QUERY_PROPERTIES = {
  page: { type: 'integer', minimum: 1, maximum: 1000000, default: 1, description: 'Page number (1-indexed).' },
  per_page: { type: 'integer', minimum: 1, maximum: 100, default: 20, description: 'Results per page (max 100).' },
} as const;

/** Reads validated `page`/`per_page` into a skip/limit pair. */
export function pageRequest(query: { page?: number; per_page?: number }): PageRequest {
  const page = query.page ?? 1;
  const perPage = query.per_page ?? 20;
  return { page, perPage, skip: (page - 1) * perPage };
}

/** `{"success":true,"data":…}` with `status`. */
export function ok(ctx: AppContext, data: unknown, status = 200): void {
  ctx.status = status;
  ctx.body = { success: true, data };
}

/** A list in the envelope with its `pagination` block. */
export function paginated(ctx: AppContext, data: unknown[], page: PageRequest, total: number): void {
  ctx.status = 200;
  ctx.body = {
    success: true,
    data,
    pagination: { page: page.page, per_page: page.perPage, total, total_pages: Math.ceil(total / page.perPage) } satisfies Pagination,
  };
}
