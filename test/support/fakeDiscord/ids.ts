/**
 * Snowflake ids as Discord makes them: `(ms since 2015-01-01) << 22 | worker/process (10 bits) | increment (12 bits)`,
 * with the timestamp taken from the clock at creation. discord.js derives `createdAt` / `createdTimestamp` from the
 * top bits, and a bot may compare an interaction's `createdTimestamp` with its own clock (e.g. to know how long the
 * interaction token still lives), so the ids must encode *now*, not a fixed date. Ids still sort by creation order:
 * within one millisecond the increment distinguishes them, and the timestamp never goes backwards.
 */
const DISCORD_EPOCH_MS = 1_420_070_400_000n;
/** The fake's "worker 1, process 0" bits: fixed, like a single Discord node. */
const WORKER_BITS = 1n << 17n;

export class SnowflakeFactory {
  #lastMs = 0n;
  #increment = 0n;

  /** The next id: the current time, and strictly greater than every id this factory made before. */
  next(): string {
    let ms = BigInt(Date.now()) - DISCORD_EPOCH_MS;
    if (ms <= this.#lastMs) {
      ms = this.#lastMs;
      this.#increment += 1n;
      // 4096 ids in one millisecond: borrow the next millisecond, as ids must stay unique and increasing.
      if (this.#increment > 0xfffn) {
        ms += 1n;
        this.#increment = 0n;
      }
    } else {
      this.#increment = 0n;
    }
    this.#lastMs = ms;
    return ((ms << 22n) | WORKER_BITS | this.#increment).toString();
  }

  /** The ISO timestamp a snowflake encodes (used for `joined_at` and message timestamps that must match ids). */
  static timestampOf(id: string): string {
    return new Date(Number((BigInt(id) >> 22n) + DISCORD_EPOCH_MS)).toISOString();
  }
}
