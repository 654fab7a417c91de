/**
 * The `narrate` CLI as a user runs it (a child process), against the RunPod and Flask emulators and offline:
 * the WAV it writes, its JSON line, its exit codes and messages, and the jobs (and files) left on the worker —
 * including Ctrl-C pressed once or twice, and two CLIs sharing one single-job Flask worker.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm, writeFile, access } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { decodeWav } from '../src/services/audio/wav.js';
import { cleanText } from '../src/services/text/index.js';
import { startRunPodEmulator, type RunPodEmulator } from './support/runpodEmulator.js';
import { startFlaskEmulator, type FlaskEmulator } from './support/flaskEmulator.js';
import { LONG_VIETNAMESE_TEXT } from './support/texts.js';
import { runNarrateCli } from './support/runScript.js';

let dir: string;

before(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'narrator-cli-'));
});
after(async () => {
  await rm(dir, { recursive: true, force: true });
});

/** The CLI in this file's folder, with `env` on top of a clean environment. */
const narrate = (args: string[], env: Record<string, string> = {}, onSpawn?: (kill: (sig: NodeJS.Signals) => void) => void) => runNarrateCli(dir, args, env, onSpawn);

function flaskEnv(emu: FlaskEmulator, extra: Record<string, string> = {}): Record<string, string> {
  return { TTS_BACKEND: 'flask', F5_TTS_API_URL: emu.baseUrl, ...extra };
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

for (const presses of [1, 2]) {
  test(`Ctrl-C ${presses === 1 ? 'once' : 'twice, 5 ms apart,'} mid-narration: "Interrupted.", exit 130, every job cancelled, no file at --out`, async () => {
    const emu = await startRunPodEmulator({ workers: 2, jobTimeMs: () => 20_000 });
    try {
      const input = path.join(dir, `ctrl-c-${presses}.txt`);
      await writeFile(input, LONG_VIETNAMESE_TEXT);
      // A few runs: a second SIGINT that finds no listener kills the process at once (no cancel, a broken WAV).
      // NARRATOR_CTRL_C_RUNS=20 for the acceptance check; 3 keep the suite fast.
      const runs = Number(process.env.NARRATOR_CTRL_C_RUNS ?? 3);
      for (let run = 0; run < runs; run++) {
        const out = path.join(dir, `ctrl-c-${presses}-${run}.wav`);
        let poll: NodeJS.Timeout | undefined;
        const done = await narrate(['--file', input, '--no-cache', '--out', out], runpodEnv(emu, { MAX_CONCURRENT_JOBS: '2' }), (kill) => {
          poll = setInterval(() => {
            if (emu.activeJobs().some((j) => j.status === 'IN_PROGRESS')) {
              clearInterval(poll);
              kill('SIGINT');
              if (presses === 2) setTimeout(() => kill('SIGINT'), 5);
            }
          }, 10);
        }).finally(() => clearInterval(poll));
        assert.equal(done.code, 130, `run ${run}: ${done.stderr}`);
        assert.match(done.stderr, /narrate: Interrupted\./);
        assert.deepEqual(emu.activeJobs(), [], `run ${run}: nothing left queued or running`);
        await assert.rejects(access(out), `run ${run}: no file at --out`);
      }
      assert.ok(emu.jobs.every((j) => j.status === 'CANCELLED'), emu.jobs.map((j) => j.status).join(', '));
    } finally {
      await emu.close();
    }
  });
}

test('Flask mode: two CLIs sharing one single-job worker with 2–3 s jobs both finish, and leave nothing on it', async () => {
  const emu = await startFlaskEmulator({ jobTimeMs: () => 2_000 + Math.random() * 1_000 });
  try {
    const texts = ['Hai người cùng dùng một máy chủ.', 'Máy chủ chỉ làm một việc mỗi lúc.'];
    const runs = await Promise.all(
      texts.map((text, i) => narrate([text, '--no-cache', '--json', '--out', path.join(dir, `shared-${i}.wav`)], flaskEnv(emu))),
    );
    for (const run of runs) assert.equal(run.code, 0, run.stderr);
    assert.equal(emu.jobs.length, 2);
    assert.ok(emu.jobs.every((j) => j.outcome === 'completed'));
    assert.ok(emu.requests.log.some((r) => r.route === 'tts' && r.status === 503), 'they did meet a busy worker');
    // The one that waited says why: queued behind a busy worker — not "warming up", nothing is starting.
    assert.ok(runs.some((r) => r.stderr.includes('(queued: workers busy)')), runs.map((r) => r.stderr).join('\n'));
    assert.ok(runs.every((r) => !r.stderr.includes('warming up')));
    assert.deepEqual(emu.leftovers(), { running: undefined, progress: [], files: [] });
  } finally {
    await emu.close();
  }
});

test('Flask mode: Ctrl-C mid-job kills it and leaves no progress entry or output file on the worker', async () => {
  const emu = await startFlaskEmulator({ jobTimeMs: () => 3_000, batches: () => 4 });
  try {
    const out = path.join(dir, 'flask-interrupted.wav');
    let poll: NodeJS.Timeout | undefined;
    const done = await narrate(['Một câu sẽ bị dừng giữa chừng trên máy chủ.', '--no-cache', '--out', out], flaskEnv(emu), (kill) => {
      poll = setInterval(() => {
        if (emu.currentJob()) {
          clearInterval(poll);
          kill('SIGINT');
          setTimeout(() => kill('SIGINT'), 5);
        }
      }, 10);
    }).finally(() => clearInterval(poll));
    assert.equal(done.code, 130, done.stderr);
    assert.equal(emu.jobs[0]?.outcome, 'cancelled');
    assert.deepEqual(emu.leftovers(), { running: undefined, progress: [], files: [] }, 'the worker rewrote the entry after the kill; it was still deleted');
    await assert.rejects(access(out));
  } finally {
    await emu.close();
  }
});

test('Flask mode: a voice missing on the worker costs exactly one job, and says what path it asked', async () => {
  const emu = await startFlaskEmulator({ voices: ['narrator'], jobTimeMs: () => 200 });
  try {
    const input = path.join(dir, 'ghost.txt');
    await writeFile(input, LONG_VIETNAMESE_TEXT);
    const run = await narrate(['--file', input, '--voice', 'ghost', '--no-cache'], flaskEnv(emu, { TTS_VOICES: 'narrator,ghost' }));
    assert.equal(run.code, 2, run.stderr);
    assert.match(run.stderr, /"ghost" is not installed on the worker \(looked for sample\/sample\/ghost\.wav\); check REF_NAME_TEMPLATE/);
    assert.equal(emu.requests.count('tts'), 1, 'one POST /tts, no second chunk tried');
    assert.deepEqual(emu.leftovers(), { running: undefined, progress: [], files: [] });
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

test('--file decodes as /narrate file: does: UTF-16 LE with BOM subtitles are read without their timing; a PNG named .txt exits 2 with no job', async () => {
  const emu = await startRunPodEmulator({ workers: 2, jobTimeMs: () => 50 });
  try {
    const srt = '1\r\n00:00:01,000 --> 00:00:03,500\r\nTrời tối dần trên bến sông.\r\n\r\n2\r\n00:00:04,000 --> 00:00:06,000\r\n<i>Anh về đi!</i>\r\n';
    const utf16 = Buffer.concat([Buffer.from([0xff, 0xfe]), Buffer.from(srt, 'utf16le')]);
    const input = path.join(dir, 'cues.srt');
    await writeFile(input, utf16);
    const run = await narrate(['--file', input, '--out', path.join(dir, 'cues.wav'), '--no-cache'], runpodEnv(emu));
    assert.equal(run.code, 0, run.stderr);
    const sent = emu.jobs.map((j) => String(j.input['text'])).join(' ');
    assert.deepEqual(words(sent), words('Trời tối dần trên bến sông. Anh về đi!'));

    const png = path.join(dir, 'picture.txt');
    await writeFile(png, Buffer.concat([Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]), Buffer.alloc(64, 7)]));
    const before = emu.jobs.length;
    const refused = await narrate(['--file', png, '--out', path.join(dir, 'png.wav')], runpodEnv(emu));
    assert.equal(refused.code, 2);
    assert.match(refused.stderr, /Cannot narrate .*picture\.txt: it holds binary data \(a PNG file\), not text/);
    assert.equal(emu.jobs.length, before, 'no job for a refused file');
  } finally {
    await emu.close();
  }
});
