import { toFieldErrors, type ErrorObject } from '../../shared/schemas/ajv.js';

/** A validation error lists at most this many fields; `_truncated` then says how many more problems there were. */
export const MAX_DETAIL_FIELDS = 100;
/** Longer field paths (a client's own key names) are cut to this many characters and `…`. */
export const MAX_DETAIL_FIELD_LENGTH = 200;

/**
 * The `details` of one 400 `validation_error`: field path → message, the first message per field,
 * at most `MAX_DETAIL_FIELDS` fields however many problems are added, so neither the work of
 * listing nor the response grows with a hostile body.
 */
export class FieldProblems {
  // No prototype: a field named `__proto__` is an entry like any other.
  private readonly listed = Object.create(null) as Record<string, string>;
  private listedCount = 0;
  private unlisted = 0;

  get empty(): boolean {
    return this.listedCount === 0;
  }

  add(field: string, message: string): void {
    if (this.listedCount >= MAX_DETAIL_FIELDS) {
      this.unlisted += 1;
      return;
    }
    const name = field.length > MAX_DETAIL_FIELD_LENGTH ? `${field.slice(0, MAX_DETAIL_FIELD_LENGTH)}…` : field;
    if (name in this.listed) return;
    this.listed[name] = message;
    this.listedCount += 1;
  }

  addAll(fields: Record<string, string>): void {
    for (const field of Object.keys(fields)) this.add(field, fields[field]!);
  }

  /** Ajv's errors; only the first `MAX_DETAIL_FIELDS` are turned into messages, the rest are counted. */
  addAjv(errors: readonly ErrorObject[] | null | undefined): void {
    if (!errors) return;
    this.addAll(toFieldErrors(errors.slice(0, MAX_DETAIL_FIELDS)));
    this.unlisted += Math.max(0, errors.length - MAX_DETAIL_FIELDS);
  }

  details(): Record<string, string> {
    if (this.unlisted > 0) {
      return Object.assign(Object.create(null) as Record<string, string>, this.listed, { _truncated: `only the first ${this.listedCount} problems are listed (${this.unlisted} more)` });
    }
    return this.listed;
  }
}
