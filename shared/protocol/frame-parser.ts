import type { ValidateFunction } from '../schemas/ajv.js';
import { toFieldErrors } from '../schemas/ajv.js';

/** Result of parsing one client text frame into a message of type `M`. */
export type ParsedFrameOf<M> =
  | { ok: true; message: M }
  | { ok: false; id?: string; message: string; details?: Record<string, string> };

/**
 * A parser of `{type, id?, data?}` client text frames (signaling and chat): JSON, an object, a
 * known `type`, then that type's schema. Never throws; a failure carries the request `id` when one
 * could be read, so the error reply can echo it. An absent `data` becomes `{}`, before validation
 * when `defaultDataFirst` (the chat schemas expect it), else after.
 */
export function frameParser<M>(
  types: readonly string[], validators: Readonly<Record<string, ValidateFunction>>, idPattern: RegExp, options: { defaultDataFirst: boolean },
): (text: string) => ParsedFrameOf<M> {
  const known = new Set(types);
  return (text) => {
    let value: unknown;
    try {
      value = JSON.parse(text);
    } catch {
      return { ok: false, message: 'Frame is not valid JSON.' };
    }
    if (typeof value !== 'object' || value === null || Array.isArray(value)) return { ok: false, message: 'Frame must be a JSON object.' };
    const record = value as Record<string, unknown>;
    const rawId = record['id'];
    const id = typeof rawId === 'string' && idPattern.test(rawId) ? rawId : undefined;
    if (options.defaultDataFirst && record['data'] === undefined) record['data'] = {};
    const type = record['type'];
    if (typeof type !== 'string' || !known.has(type)) {
      return { ok: false, ...(id ? { id } : {}), message: 'Unknown message type.', details: { type: 'must be one of: ' + types.join(', ') } };
    }
    const validate = validators[type]!;
    if (!validate(record)) return { ok: false, ...(id ? { id } : {}), message: 'Frame failed validation.', details: toFieldErrors(validate.errors) };
    if (record['data'] === undefined) record['data'] = {};
    return { ok: true, message: record as unknown as M };
  };
}
