import { type Refusal, refuse } from './types.ts';

/** Form fields in arrival order; a repeated name keeps every value. */
export type FormFields = Map<string, string[]>;

export const FORM_TYPE = /^application\/x-www-form-urlencoded\s*(;|$)/i;

/** An `application/x-www-form-urlencoded` body, decoded the way browsers and Node do. */
export function parseForm(raw: Buffer): { ok: true; fields: FormFields } | Refusal {
  if (raw.length === 0) return refuse('empty_body', 'The request body is empty; expected form fields.');
  const fields: FormFields = new Map();
  for (const [name, value] of new URLSearchParams(raw.toString('utf8'))) {
    const values = fields.get(name);
    if (values) values.push(value);
    else fields.set(name, [value]);
  }
  return { ok: true, fields };
}

/** The first value of a field. */
export const field = (fields: FormFields, name: string): string | undefined => fields.get(name)?.[0];

/** The fields as the JSON object stored for the worker: one value a string, several an array. */
export function formJson(fields: FormFields): string {
  // No prototype: a field named `__proto__` stays a field.
  const out: Record<string, string | string[]> = Object.create(null);
  for (const [name, values] of fields) out[name] = values.length === 1 ? (values[0] as string) : values;
  return JSON.stringify(out);
}
