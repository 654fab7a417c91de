/**
 * The `narrate` CLI as a user runs it (a child process), against the RunPod emulator and offline:
 * the WAV it writes, its JSON line, its exit codes and messages, and the jobs left on the endpoint.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile, access } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { decodeWav } from '../src/services/audio/wav.js';
import { cleanText } from '../src/services/text/index.js';
import { startRunPodEmulator, type RunPodEmulator } from './support/runpodEmulator.js';
import { LONG_VIETNAMESE_TEXT } from './support/texts.js';

const ROOT = path.resolve(import.meta.dirname, '..');
let dir: string;

before(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'narrator-cli-'));
});
after(async () => {
  await rm(dir, { recursive: true, force: true });
});

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

function narrate(args: string[], env: Record<string, string> = {}, onSpawn?: (kill: (sig: NodeJS.Signals) => void) => void): Promise<Run> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', import.meta.resolve('tsx'), path.join(ROOT, 'scripts/narrate.ts'), ...args], {
      cwd: dir,
      // A clean environment: nothing from the developer's shell or .env decides the backend.
      env: { PATH: process.env.PATH ?? '', HOME: dir, CACHE_DIR: path.join(dir, 'cache'), LOG_LEVEL: 'warn', ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
    onSpawn?.((sig) => child.kill(sig));
  });
}

function runpodEnv(emu: RunPodEmulator, extra: Record<string, string> = {}): Record<string, string> {
  return { RUNPOD_API_KEY: emu.apiKey, RUNPOD_ENDPOINT_ID: emu.endpointId, RUNPOD_BASE_URL: emu.baseUrl, ...extra };
}

const words = (s: string) => s.split(/\s+/).filter(Boolean);

test('a 3000-character Vietnamese text through RunPod: every word sent in order, chunks within limits, fast first audio', async () => {
  const jobMs = 400;
  const emu = await startRunPodEmulator({ workers: 3, jobTimeMs: () => jobMs });
  try {
    const input = path.join(dir, 'long.txt');
    await writeFile(input, LONG_VIETNAMESE_TEXT);
    assert.ok(LONG_VIETNAMESE_TEXT.length >= 3000);
    const out = path.join(dir, 'long.wav');
    const run = await narrate(['--file', input, '--out', out, '--json', '--no-cache'], runpodEnv(emu, { MAX_CONCURRENT_JOBS: '3' }));
    assert.equal(run.code, 0, run.stderr);
    const result = JSON.parse(run.stdout.trim().split('\n').at(-1)!) as Record<string, number | string>;
    assert.equal(result.backend, 'runpod');
    assert.equal(result.out, out);

    // What the worker was asked to say, in submission order, is exactly the cleaned text.
    const sent = [...emu.jobs].sort((a, b) => a.submittedAt - b.submittedAt).map((j) => String(j.input['text']));
    assert.equal(sent.length, result.chunks);
    assert.deepEqual(words(sent.join(' ')), words(cleanText(LONG_VIETNAMESE_TEXT)));
    assert.ok(sent.every((t) => t.length <= 280), 'no chunk over the limit');

    // The WAV: valid 16-bit PCM at the worker's rate, as long as the JSON says.
    const wav = decodeWav(new Uint8Array(await readFile(out)));
    assert.equal(wav.format, 'pcm16');
    assert.equal(wav.sampleRate, 24_000);
    assert.ok(Math.abs(wav.frames / wav.sampleRate - Number(result.durationSec)) < 0.01);

    // The schedule, read from the endpoint's own records rather than timed here (`npm run bench` measures it):
    // all 3 workers were kept busy at once, never more, and the first audio came long before the end.
    const intervals = emu.jobs.map((j) => [j.startedAt!, j.finishedAt!] as const);
    const maxOverlap = Math.max(...intervals.map(([s]) => intervals.filter(([a, b]) => a <= s && s < b).length));
    assert.equal(maxOverlap, 3, 'MAX_CONCURRENT_JOBS jobs in flight at once');
    assert.ok(Number(result.firstAudioMs) < Number(result.totalMs) - 2 * jobMs, `first audio ${result.firstAudioMs} ms, total ${result.totalMs} ms`);
    assert.equal(emu.requests.count('status'), 0, 'long-poll only, no fixed-interval polling');
    assert.equal(emu.activeJobs().length, 0);
  } finally {
    await emu.close();
  }
});

test('offline by default: with no configuration the CLI speaks with espeak-ng', async () => {
  const out = path.join(dir, 'hello.wav');
  const run = await narrate(['Xin chào, đây là một thử nghiệm.', '--out', out]);
  assert.equal(run.code, 0, run.stderr);
  assert.match(run.stderr, /wrote .*hello\.wav/);
  const wav = decodeWav(new Uint8Array(await readFile(out)));
  assert.ok(wav.frames / wav.sampleRate > 1 && wav.frames / wav.sampleRate < 6);
  // Again: served from the cache.
  const again = await narrate(['Xin chào, đây là một thử nghiệm.', '--out', out, '--json']);
  assert.equal(JSON.parse(again.stdout).cacheHits, 1);
});

test('bad input and bad configuration exit 2 with a one-line reason', async () => {
  const cases: Array<[string[], Record<string, string>, RegExp]> = [
    [[], {}, /No text given/],
    [['xin chào', '--speed', 'fast'], {}, /--speed must be a number/],
    [['xin chào các bạn', '--speed', '3'], {}, /Speed must be between 0.5 and 2/],
    [['xin chào các bạn', '--voice', 'ghost'], {}, /Unknown voice "ghost"/],
    [['😀 https://example.com'], {}, /Nothing to read aloud/],
    [['--file', 'missing.txt'], {}, /Cannot read missing.txt: ENOENT/],
    [['--bogus'], {}, /Unknown option '--bogus'/],
    [['xin chào'], { MAX_CONCURRENT_JOBS: 'many', TTS_BACKEND: 'runpod' }, /MAX_CONCURRENT_JOBS must be a whole number/],
  ];
  const runs = await Promise.all(cases.map(([args, env]) => narrate(args, env)));
  for (const [i, [args, , reason]] of cases.entries()) {
    const run = runs[i]!;
    assert.equal(run.code, 2, `${args.join(' ')}: ${run.stderr}`);
    assert.match(run.stderr, reason);
    assert.equal(run.stdout, '');
  }
});

test('a synthesis failure exits 1 with the reason; a wrong key exits 2; the key is never printed', async () => {
  const emu = await startRunPodEmulator({ fault: () => ({ kind: 'error', error: 'Something odd happened' }) });
  try {
    const out = path.join(dir, 'fail.wav');
    let run = await narrate(['Một câu sẽ thất bại trên máy chủ.', '--out', out], runpodEnv(emu, { LOG_LEVEL: 'trace' }));
    assert.equal(run.code, 1);
    assert.match(run.stderr, /narrate: The TTS worker reported an error\./);
    assert.ok(!(run.stdout + run.stderr).includes(emu.apiKey));
    await assert.rejects(access(out), 'no half-written file is left');
    const wrongKey = 'rpa_WRONG_KEY_THAT_MUST_NOT_LEAK_1234';
    run = await narrate(['Xin chào các bạn.'], runpodEnv(emu, { RUNPOD_API_KEY: wrongKey, LOG_LEVEL: 'trace' }));
    assert.equal(run.code, 2);
    assert.match(run.stderr, /Check RUNPOD_API_KEY/);
    assert.ok(!(run.stdout + run.stderr).includes(wrongKey));
  } finally {
    await emu.close();
  }
});

test('Ctrl-C during a narration cancels the jobs on the endpoint and exits 130', async () => {
  const emu = await startRunPodEmulator({ workers: 2, jobTimeMs: () => 20_000 });
  try {
    const input = path.join(dir, 'interrupted.txt');
    await writeFile(input, LONG_VIETNAMESE_TEXT);
    let wait: NodeJS.Timeout | undefined;
    const run = narrate(['--file', input, '--no-cache'], runpodEnv(emu), (kill) => {
      wait = setInterval(() => {
        if (emu.jobs.some((j) => j.status === 'IN_PROGRESS')) {
          clearInterval(wait);
          kill('SIGINT');
        }
      }, 20);
    });
    const done = await run.finally(() => clearInterval(wait));
    assert.equal(done.code, 130, done.stderr);
    assert.match(done.stderr, /Interrupted/);
    assert.equal(emu.activeJobs().length, 0, 'nothing left queued or running');
    assert.ok(emu.jobs.some((j) => j.status === 'CANCELLED'));
  } finally {
    await emu.close();
  }
});
