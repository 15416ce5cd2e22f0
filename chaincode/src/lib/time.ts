/**
 * Instants travel as ISO-8601 UTC strings (`2030-06-15T12:00:00.000Z`). Parsing is strict: a
 * calendar-invalid date such as February 30 is refused instead of silently rolling over, so the
 * policy and the ledger never disagree with a client about which instant a string names.
 */
const ISO_UTC = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,9}))?Z$/;

export function parseInstant(value: unknown): number | undefined {
  if (typeof value !== 'string') return undefined;
  const match = ISO_UTC.exec(value);
  if (!match) return undefined;
  const ms = Date.parse(value);
  if (Number.isNaN(ms)) return undefined;
  const roundTrip = new Date(ms).toISOString();
  // Compare the date-time fields only: fractional digits beyond milliseconds are truncated by Date.
  if (roundTrip.slice(0, 19) !== value.slice(0, 19)) return undefined;
  return ms;
}

export function formatInstant(ms: number): string {
  return new Date(ms).toISOString();
}
