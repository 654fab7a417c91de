/**
 * Deterministic snowflake-like ids. Real snowflakes are `(ms since 2015-01-01) << 22 | worker/process/increment`;
 * discord.js only needs them to be decimal strings that parse as BigInt (it derives `createdAt` from the top bits),
 * so a counter on a fixed base time gives ids that are valid, increasing, and the same on every run — a test that
 * creates things in the same order sees the same ids.
 */
const DISCORD_EPOCH_MS = 1_420_070_400_000n;
/** 2024-01-01T00:00:00Z: a fixed, plausible creation time for everything the fake makes. */
const BASE_MS = 1_704_067_200_000n;

export class SnowflakeFactory {
  #counter = 0n;

  /** The next id; each one is one millisecond "younger" than the previous, so ids sort by creation order. */
  next(): string {
    this.#counter += 1n;
    return (((BASE_MS - DISCORD_EPOCH_MS + this.#counter) << 22n) | (this.#counter & 0xfffn)).toString();
  }

  /** The ISO timestamp a snowflake encodes (used for `joined_at` and message timestamps that must match ids). */
  static timestampOf(id: string): string {
    return new Date(Number((BigInt(id) >> 22n) + DISCORD_EPOCH_MS)).toISOString();
  }
}
