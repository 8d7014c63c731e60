import { Ajv2020, type ErrorObject, type Options, type ValidateFunction } from 'ajv/dist/2020.js';
import * as ajvFormats from 'ajv-formats';

type AddFormats = (ajv: Ajv2020) => Ajv2020;
// ajv-formats is CommonJS; under NodeNext the plugin function sits on `default`.
const addFormats = ((ajvFormats as unknown as { default: { default?: AddFormats } & AddFormats }).default.default
  ?? (ajvFormats as unknown as { default: AddFormats }).default);

export type { ErrorObject, ValidateFunction };

/** A draft 2020-12 Ajv instance with formats; `coerce` for query strings and path params. */
export function createAjv(options: { coerce?: boolean } = {}): Ajv2020 {
  const base: Options = { allErrors: true, strict: true, useDefaults: true, coerceTypes: options.coerce ? 'array' : false };
  const ajv = new Ajv2020(base);
  addFormats(ajv);
  ajv.addKeyword({ keyword: 'x-example' });
  return ajv;
}

function fieldOf(error: ErrorObject): string {
  const path = error.instancePath.split('/').slice(1).map((p) => p.replace(/~1/g, '/').replace(/~0/g, '~'));
  if (error.keyword === 'required') path.push(String(error.params['missingProperty']));
  if (error.keyword === 'additionalProperties') path.push(String(error.params['additionalProperty']));
  return path.join('.') || '_';
}

function messageOf(error: ErrorObject): string {
  const p = error.params as Record<string, unknown>;
  switch (error.keyword) {
    case 'required': return 'is required';
    case 'additionalProperties': return 'is not allowed';
    case 'format': return p['format'] === 'email' ? 'must be a valid email address' : `must be a valid ${String(p['format'])}`;
    case 'minLength': return `must be at least ${String(p['limit'])} characters`;
    case 'maxLength': return `must be at most ${String(p['limit'])} characters`;
    case 'minimum': return `must be at least ${String(p['limit'])}`;
    case 'maximum': return `must be at most ${String(p['limit'])}`;
    case 'minItems': return `must have at least ${String(p['limit'])} items`;
    case 'maxItems': return `must have at most ${String(p['limit'])} items`;
    case 'enum': return `must be one of: ${(p['allowedValues'] as unknown[]).map(String).join(', ')}`;
    case 'type': return `must be ${String(p['type'])}`;
    case 'pattern': return 'has an invalid format';
    default: return error.message ?? 'is invalid';
  }
}

/** Ajv errors → `{ field: message }` as spec 000's `details`; the first error per field wins. */
export function toFieldErrors(errors: readonly ErrorObject[] | null | undefined, prefix?: string): Record<string, string> {
  // A Map, not an object literal: a field named `constructor` or `__proto__` must become an entry too.
  const details = new Map<string, string>();
  for (const error of errors ?? []) {
    const field = prefix ? (fieldOf(error) === '_' ? prefix : `${prefix}.${fieldOf(error)}`) : fieldOf(error);
    if (!details.has(field)) details.set(field, messageOf(error));
  }
  return Object.fromEntries(details);
}
