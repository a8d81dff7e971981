/**
 * The shape of the ids PostgreSQL gives our rows (`gen_random_uuid()`, lowercase 8-4-4-4-12 hex). Checked before
 * a query so that a malformed id from a URL or a form is a 404 or a field error, never a database error.
 */
export const UUID_PATTERN = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

/** Source of UUID_PATTERN without its anchors, for patterns that embed an id (`f:<uuid>`). */
export const UUID_SOURCE = UUID_PATTERN.source.slice(1, -1);

export function isUuid(value: unknown): value is string {
  return typeof value === 'string' && UUID_PATTERN.test(value);
}
