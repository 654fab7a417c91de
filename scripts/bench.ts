/**
 * `npm run bench`: how much the bot adds to what the GPU costs anyway, and how it compares with the naive way —
 * first audio, schedule efficiency, the naive baseline, audio-path throughput, the text path on hostile input,
 * memory, fairness, scale and stalls (what the listener hears: gaps, deadline-first vs round-robin, a long first
 * sentence), in one
 * run against the RunPod emulator. Prints a table and writes every figure (and each run's raw values) as JSON.
 * What each figure means and the latest results: BENCHMARKS.md.
 *
 *   npm run bench -- [--quick] [--runs N] [--time-scale F] [--workers N] [--max-jobs N]
 *                    [--only latency,audio,text,memory,fairness,scale,playback] [--out FILE]
 *
 *   --quick         2 runs and fewer narrations (about 2–3 minutes instead of about 5)
 *   --runs N        repetitions for the latency and fairness figures (default 5; medians are reported)
 *   --time-scale F  job times (and the naive client's poll intervals) = real worker × F, 0 < F ≤ 1 (default 0.2)
 *   --workers N     warm workers of the emulated endpoint (default: MAX_CONCURRENT_JOBS)
 *   --max-jobs N    the engine's MAX_CONCURRENT_JOBS (default 6, the production default)
 *   --only LIST     run only these sections
 *   --out FILE      where the JSON goes (default bench-results.json)
 *
 * Exit code 0 when it ran (a missed target is a result, not a failure), 1 when it could not run, 2 on bad flags.
 */
import { writeFile } from 'node:fs/promises';
import { formatReport } from './bench/report.js';
import { runBench } from './bench/run.js';
import { parseBenchArgs, USAGE, type BenchArgs } from './bench/settings.js';

async function main(): Promise<number> {
  let args: BenchArgs;
  try {
    args = parseBenchArgs(process.argv.slice(2));
  } catch (err) {
    process.stderr.write(`bench: ${(err as Error).message}\n`);
    return 2;
  }
  if (args.help) {
    process.stdout.write(`${USAGE}\n`);
    return 0;
  }
  const results = await runBench(args.settings, (line) => process.stderr.write(`${line}\n`));
  process.stdout.write(`${formatReport(results)}\n`);
  await writeFile(args.out, `${JSON.stringify(results, null, 2)}\n`);
  process.stderr.write(`results written to ${args.out}\n`);
  return 0;
}

main().then(
  (code) => process.exit(code),
  (err: unknown) => {
    process.stderr.write(`bench failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
    process.exit(1);
  },
);
