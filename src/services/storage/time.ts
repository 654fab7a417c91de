/**
 * UTC days, the unit of the daily limits: a day is 'YYYY-MM-DD' of the UTC date, so every shard and the CLI agree
 * on when "today" ends whatever their local time zone.
 */
const DAY_MS = 86_400_000;

export function utcDay(epochMs: number): string {
  return new Date(epochMs).toISOString().slice(0, 10);
}

/** Epoch ms of the next UTC midnight after `epochMs` (when the daily limits reset). */
export function nextUtcMidnight(epochMs: number): number {
  return Math.floor(epochMs / DAY_MS) * DAY_MS + DAY_MS;
}
