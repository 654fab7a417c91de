/**
 * `npm run bench` still works: every section runs end to end on a tiny configuration (a few jobs of a few tens of
 * milliseconds, child processes included), the report has a row for each of the seven figures and for the text
 * path's figure 11, and the results survive the trip to JSON. No timing is asserted: on a shared CI machine only the
 * bench's own figures mean anything.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { formatReport } from '../scripts/bench/report.js';
import { runBench } from '../scripts/bench/run.js';
import { FULL, parseBenchArgs, QUICK, type BenchSettings } from '../scripts/bench/settings.js';

const TINY: BenchSettings = {
  ...FULL,
  preset: 'custom',
  runs: 1,
  timeScale: 0.02,
  maxConcurrentJobs: 3,
  workers: 3,
  latencyChunks: 6,
  naivePollSec: [1],
  audioMinSec: 0.01,
  audioClips: 3,
  longMinutes: 1,
  shortNarrations: 20,
  sampleEvery: 10,
  settleSec: 0,
  fairLongChunks: 9,
  fairShortChunks: 3,
  scaleNarrations: 12,
  scaleWorkers: 4,
  textSizes: [500, 2000],
  textRepeats: 1,
};

// The timeout is a hang guard, not a speed target: ~50 s alone, more beside other test files on 2 cores.
test('a tiny bench runs every section and reports all seven figures', { timeout: 300_000 }, async () => {
  const lines: string[] = [];
  const results = await runBench(TINY, (line) => lines.push(line));

  const latency = results.latency!;
  for (const placement of ['same-process', 'separate-process'] as const) {
    const p = latency.placements[placement];
    assert.equal(p.runs.length, 1);
    const ours = p.runs[0]!.ours;
    // Segment 0 comes before the last one, and the job floor is part of the first audio.
    assert.ok(ours.firstAudioMs > 0 && ours.firstAudioMs <= ours.totalMs, placement);
    assert.ok(ours.firstFloorMs > 0 && ours.idealMs > 0 && ours.audioSec > 20, placement);
    // The engine waited on each job with one long-poll (production defaults); the naive client polled /status.
    assert.equal(ours.statusRequestsPerJob, 1, placement);
    assert.ok(p.naive[0]!.statusRequestsPerChunk >= 1, placement);
  }
  assert.equal(latency.chunks, 6);

  const audio = results.audio!;
  assert.equal(audio.clips, 3);
  assert.ok(audio.pipeline.xRealtime > 0 && Number.isFinite(audio.pipeline.cpuMsPerAudioSec));
  assert.deepEqual(audio.opus.map((o) => o.encoder), ['@discordjs/opus', 'opusscript']);

  const { long, many } = results.memory!;
  assert.ok(long.durationSec >= 60, `the long narration lasts ${long.durationSec} s`);
  assert.ok(long.outputBytes > long.durationSec * 24_000 * 2 * 0.99, 'the WAV holds the whole narration');
  assert.ok(long.maxRssBytes >= long.baselineRssBytes);
  assert.equal(many.errors, 0);
  assert.equal(many.gcExposed, true);
  assert.deepEqual(many.samples.map((s) => s.narrations), [10, 20]);

  const fairness = results.fairness!;
  assert.ok(fairness.runs[0]!.aloneMs > 0 && fairness.runs[0]!.contendedMs > 0);
  assert.equal(fairness.runs[0]!.shortSlotWaitMs.length, 3);

  const scale = results.scale!;
  assert.equal(scale.errors, 0, scale.errorMessages.join('; '));
  assert.equal(scale.narrations, 12);
  assert.ok(scale.utilisation > 0 && scale.utilisation <= 1.05);

  const text = results.text!;
  assert.deepEqual(text.sizes, [500, 2000]);
  assert.ok(text.cases.length >= 20 && text.cases.every((c) => c.prepareMs.length === 2 && c.voicedMs.length === 2));

  const report = formatReport(results);
  for (const figure of ['1.', '2.', '3.', '4.', '5.', '6.', '7.', '11.']) {
    assert.ok(results.summary.some((row) => row.figure.startsWith(figure)), `figure ${figure} in the summary`);
    assert.ok(report.includes(`\n${figure} `), `figure ${figure} in the printed table`);
  }
  const json = JSON.parse(JSON.stringify(results)) as typeof results;
  assert.deepEqual(json.summary, results.summary);
  assert.ok(lines.some((l) => l.startsWith('scale:')));
});

test('the flags select the preset, the sizes and the sections', () => {
  const quick = parseBenchArgs(['--quick', '--out', 'x.json']);
  assert.equal(quick.settings.runs, QUICK.runs);
  assert.equal(quick.settings.preset, 'quick');
  assert.equal(quick.out, 'x.json');
  const custom = parseBenchArgs(['--runs', '3', '--time-scale', '0.5', '--max-jobs', '8', '--only', 'latency,scale']);
  assert.equal(custom.settings.runs, 3);
  assert.equal(custom.settings.timeScale, 0.5);
  assert.equal(custom.settings.maxConcurrentJobs, 8);
  assert.equal(custom.settings.workers, 8, 'workers follow --max-jobs unless given');
  assert.deepEqual(custom.settings.sections, ['latency', 'scale']);
  assert.equal(custom.settings.preset, 'custom');
  assert.equal(parseBenchArgs([]).out, 'bench-results.json');
  assert.throws(() => parseBenchArgs(['--runs', '0']), /--runs must be a whole number/);
  assert.throws(() => parseBenchArgs(['--only', 'speed']), /--only takes a list/);
  assert.throws(() => parseBenchArgs(['--time-scale', '2']), /--time-scale/);
  assert.throws(() => parseBenchArgs(['--frobnicate']), /usage: npm run bench/);
});

test('the command line answers --help', () => {
  const help = spawnSync(process.execPath, ['--import', 'tsx', 'scripts/bench.ts', '--help'], { encoding: 'utf8', env: { ...process.env, NODE_OPTIONS: '' } });
  assert.equal(help.status, 0, help.stderr);
  assert.match(help.stdout, /usage: npm run bench -- \[--quick\]/);
});
