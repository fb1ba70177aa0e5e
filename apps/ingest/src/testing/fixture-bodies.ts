/**
 * Helpers for the modules' example deliveries (`ProviderExample.nth`): the n-th distinct event made
 * from a fixture, for tests that need many events of one provider.
 */

/** The JSON fixture with `value` at `path` (e.g. `event_id`): for providers whose id is in the body. */
export function jsonWith(fixture: string, path: string, value: string): string {
  const body = JSON.parse(fixture) as Record<string, unknown>;
  const keys = path.split('.');
  let at = body;
  for (const key of keys.slice(0, -1)) at = at[key] as Record<string, unknown>;
  at[keys.at(-1) as string] = value;
  return JSON.stringify(body);
}

/**
 * The JSON fixture with one more top-level field, so that its bytes differ: for providers whose id
 * travels in a header, where the same body under another id would be a replay. Textual, so that
 * large integers (Shopify's ids) keep every digit.
 */
export const jsonNumbered = (fixture: string, n: number | string) =>
  fixture.replace(/^\s*\{/, `{"oncehook_example":${JSON.stringify(n)},`);

/** The form fixture with `name` set to `value`. */
export function formWith(fixture: string, name: string, value: string): string {
  const params = new URLSearchParams(fixture);
  params.set(name, value);
  return params.toString();
}
