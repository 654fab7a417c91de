/**
 * A child process for the cross-process race tests: opens the storage at argv[2], says "ready" on stdout, waits for
 * a "go" line on stdin (so every process fires at once), then sends `count` concurrent reservations of `chars`
 * characters for one server and prints how many passed as one JSON line. Exits 1 with the error on stderr otherwise.
 *
 *   node --import tsx test/support/reserveWorker.ts URL GUILD COUNT CHARS NOW [MAX_DELAY_MS]
 *
 * With MAX_DELAY_MS, each reservation waits a random 0..MAX_DELAY_MS between its checks and its insert (the window a
 * race needs), so a missing lock would let too many through.
 */
import { createInterface } from 'node:readline';
import { openStorage } from '../../src/services/storage/index.js';

const [url, guildId, countArg, charsArg, nowArg, delayArg] = process.argv.slice(2);
if (!url || !guildId || !countArg || !charsArg || !nowArg) {
  process.stderr.write('usage: reserveWorker URL GUILD COUNT CHARS NOW\n');
  process.exit(2);
}
const count = Number(countArg);
const chars = Number(charsArg);
const now = Number(nowArg);

const maxDelayMs = Number(delayArg ?? 0);
const storage = await openStorage(url, {
  busyTimeoutMs: 30_000,
  testHooks: maxDelayMs > 0 ? { betweenCheckAndInsert: () => new Promise((r) => setTimeout(r, Math.random() * maxDelayMs)) } : {},
});
process.stdout.write('ready\n');
const lines = createInterface({ input: process.stdin });
for await (const line of lines) if (line.trim() === 'go') break;
lines.close();

const results = await Promise.all(
  Array.from({ length: count }, (_, i) =>
    storage.reserve({ guildId, userId: `user-${process.pid}-${i}`, charsAsked: chars, charsToSynthesize: chars, chunks: 1, now }),
  ),
);
await storage.close();
process.stdout.write(`${JSON.stringify({ passed: results.filter((r) => r.ok).length, refused: results.filter((r) => !r.ok).length })}\n`);
