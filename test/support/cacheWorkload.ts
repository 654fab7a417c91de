/**
 * A random cache workload for the multi-process test (test/cache.processes.test.ts). Imported, it only exports the
 * deterministic entries; run as a script (`node --import tsx cacheWorkload.ts <dir> <maxBytes> <seed> <ops> <base>`), it
 * reads, writes and getOrCreates random entries of keys base..base+WORKLOAD_SPAN on `dir`, checks every byte it reads against
 * the expected payload, and prints a JSON summary on stdout. Exit code 1 on any error or wrong byte.
 */
import { createHash } from 'node:crypto';
import { pathToFileURL } from 'node:url';
import { setTimeout as sleep } from 'node:timers/promises';
import { AudioCache } from '../../src/services/cache.js';
import { seededRandom } from './fakeVoice.js';

/** Each process uses `WORKLOAD_SPAN` keys from its own base, overlapping its neighbours' (different shards mostly
 * narrate different texts, sometimes the same). */
export const WORKLOAD_SPAN = 60;

export function workloadKey(i: number): string {
  return AudioCache.key({ backend: 'test:processes', voice: 'narrator', speed: 1, text: `entry ${i}` });
}

/** The only bytes ever stored under `workloadKey(i)`, by any process: 1.5–5.5 kB derived from `i`. */
export function workloadPayload(i: number): Uint8Array {
  const size = 1500 + ((i * 2654435761) >>> 0) % 4000;
  const out = new Uint8Array(size);
  let block = createHash('sha256').update(`payload ${i}`).digest();
  for (let at = 0; at < size; at += block.length) {
    out.set(block.subarray(0, Math.min(block.length, size - at)), at);
    block = createHash('sha256').update(block).digest();
  }
  return out;
}

export interface WorkloadSummary {
  readonly pid: number;
  readonly hits: number;
  readonly misses: number;
  readonly writes: number;
  readonly wrongBytes: number;
}

async function main(): Promise<void> {
  const [dir, maxBytesArg, seedArg, opsArg, baseArg] = process.argv.slice(2);
  const base = Number(baseArg);
  if (!dir || !Number.isSafeInteger(base)) throw new Error('usage: cacheWorkload.ts <dir> <maxBytes> <seed> <ops> <base>');
  const cache = new AudioCache({ dir: dir!, maxBytes: Number(maxBytesArg), log: undefined });
  const random = seededRandom(Number(seedArg));
  let hits = 0;
  let misses = 0;
  let writes = 0;
  let wrongBytes = 0;
  const check = (i: number, bytes: Uint8Array): void => {
    if (!Buffer.from(bytes).equals(workloadPayload(i))) wrongBytes++;
  };
  const op = async (): Promise<void> => {
    const i = base + Math.floor(random() * WORKLOAD_SPAN);
    const kind = random();
    await sleep(Math.floor(random() * 3));
    if (kind < 0.4) {
      const bytes = await cache.get(workloadKey(i));
      if (bytes) (hits++, check(i, bytes));
      else misses++;
    } else if (kind < 0.7) {
      await cache.set(workloadKey(i), workloadPayload(i));
      writes++;
    } else {
      const got = await cache.getOrCreate(workloadKey(i), async () => {
        await sleep(Math.floor(random() * 3));
        writes++;
        return workloadPayload(i);
      });
      if (got.hit) hits++;
      check(i, got.bytes);
    }
  };
  // A few operations in flight at once, as in the bot (several chunks per narration).
  const ops = Number(opsArg);
  let next = 0;
  await Promise.all(
    Array.from({ length: 4 }, async () => {
      while (next++ < ops) await op();
    }),
  );
  const summary: WorkloadSummary = { pid: process.pid, hits, misses, writes, wrongBytes };
  process.stdout.write(JSON.stringify(summary) + '\n');
  if (wrongBytes > 0) process.exitCode = 1;
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) await main();
