/** Who made the request, for audit records and rate decisions; no Koa types. */
export interface RequestMeta {
  ip: string;
  requestId: string;
}
