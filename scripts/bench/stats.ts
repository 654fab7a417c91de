/**
 * The little statistics the benchmark reports: medians with their spread over runs, a least-squares slope for
 * memory growth, and the ideal makespan that schedule efficiency is measured against.
 *
 * Hand-written: each is a few lines, and a stats package would hide which definition (e.g. of a median of an even
 * count) the published figures use.
 */

export interface Spread {
  readonly median: number;
  readonly min: number;
  readonly max: number;
  readonly n: number;
}

/** Median (mean of the middle two for an even count); NaN for no values. */
export function median(values: readonly number[]): number {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((x, y) => x - y);
  const mid = sorted.length >> 1;
  return sorted.length % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

/** Nearest-rank quantile, q in [0, 1]; NaN for no values. */
export function quantile(values: readonly number[], q: number): number {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((x, y) => x - y);
  const rank = Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1));
  return sorted[rank]!;
}

export function spread(values: readonly number[]): Spread {
  return {
    median: median(values),
    min: values.length ? Math.min(...values) : Number.NaN,
    max: values.length ? Math.max(...values) : Number.NaN,
    n: values.length,
  };
}

/** Least-squares slope of y over x; NaN with fewer than two distinct x. */
export function slope(points: readonly { readonly x: number; readonly y: number }[]): number {
  const n = points.length;
  if (n < 2) return Number.NaN;
  const mx = points.reduce((s, p) => s + p.x, 0) / n;
  const my = points.reduce((s, p) => s + p.y, 0) / n;
  let num = 0;
  let den = 0;
  for (const p of points) {
    num += (p.x - mx) * (p.y - my);
    den += (p.x - mx) ** 2;
  }
  return den === 0 ? Number.NaN : num / den;
}

/**
 * Makespan of list scheduling: jobs taken in the given order, each started on the worker that frees up first,
 * with no gap between jobs. This is what a bot adding zero overhead would achieve with the same job times, the
 * same submission order and `workers` jobs at a time.
 */
export function listScheduleMakespan(jobMs: readonly number[], workers: number): number {
  if (!Number.isInteger(workers) || workers < 1) throw new RangeError(`workers must be a whole number ≥ 1 (got ${workers})`);
  const freeAt = new Array<number>(Math.min(workers, Math.max(1, jobMs.length))).fill(0);
  for (const ms of jobMs) {
    let earliest = 0;
    for (let w = 1; w < freeAt.length; w++) if (freeAt[w]! < freeAt[earliest]!) earliest = w;
    freeAt[earliest] = freeAt[earliest]! + ms;
  }
  return Math.max(0, ...freeAt);
}

/** Rounds to `digits` decimals for display and JSON (NaN stays NaN). */
export function round(value: number, digits = 1): number {
  const f = 10 ** digits;
  return Math.round(value * f) / f;
}
