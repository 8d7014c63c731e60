/** One configuration setting: where it comes from, what it must look like, what it means. */
export interface Setting {
  /** Environment variable name. */
  env: string;
  /** Dotted path in the typed config object, e.g. `api.port`. */
  key: string;
  /** JSON Schema for the (type-coerced) value. */
  schema: Record<string, unknown>;
  /** Default; `undefined` means optional with no default. `required: true` means no default at all. */
  default?: unknown;
  required?: boolean;
  /** Parse the raw string as JSON before validation (arrays, objects). */
  json?: boolean;
  /** Never echo the value in error messages or logs. */
  secret?: boolean;
  doc: string;
}

export function defineSettings<const T extends readonly Setting[]>(settings: T): T {
  return settings;
}
