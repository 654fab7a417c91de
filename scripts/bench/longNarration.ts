/**
 * A 50 000-character narration (~50 minutes of real speech; 62 minutes of the emulator's slower fake voice) through
 * the real engine against the RunPod emulator, with a
 * listener playing it in real time, measured in a process of its own: peak RSS, heap and array buffers over time,
 * how far synthesis ran ahead of what was heard, stalls, and what a /stop after two minutes would have paid for.
 *
 *   node --import tsx scripts/bench/longNarration.ts [--chars 50000] [--scale 0.05] [--lookahead 120]
 *        [--workers 6] [--modes paced,unpaced,file]
 *
 * Modes: `paced` — a voice narration as the bot plays it now (SYNTH_LOOKAHEAD_SEC); `unpaced` — the same without the
 * look-ahead (how voice narrations ran before it); `file` — an output:file narration (no playback stream, not paced).
 *
 * Time is compressed so a 50-minute narration takes minutes: jobs take the bench's latency model of the real worker
 * (1.5 s + 15 ms per character, ±10 %) × `scale`, and the listener's clock — the scheduler's clock, so deadlines and
 * the look-ahead — runs 1/`scale` times faster than the wall clock, so the ratio of synthesis time to audio time is
 * the real one. The listener is a faithful model of NarrationTrack + the voice player: segments go, as they arrive,
 * to a NarrationRecording (WAV + Ogg Opus on disk) and to a real PcmStream, from which a player reads 20 ms frames of
 * 48 kHz stereo PCM in step with the (scaled) clock; playback starts when the first segment arrives, and the
 * narration's deadlines are re-based then, as the bot's player does. Figures are reported in real-world seconds.
 * Use `scale` ≥ 0.2: below it, an unpaced narration's audio arrives faster than the recording (WAV + Ogg Opus, ~90×
 * real time) can write it, and the backlog shows as memory the real bot would never hold. The bot's own fixed
 * overheads (HTTP polling) are not scaled, so first-audio figures look 1/scale times worse than they are.
 * Memory is that of the child process only (the emulator and its precomputed voice live in the parent); samples are
 * taken every 60 s of audio after a forced GC (`--expose-gc`), and the peak RSS is the kernel's.
 */
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { loadConfig } from '../../src/services/config.js';
import { createEngine } from '../../src/services/engine.js';
import { NarrationRecording } from '../../src/services/audio/narrationRecording.js';
import { PcmStream } from '../../src/services/playback/pcmStream.js';
import type { SchedulerClock } from '../../src/services/scheduler.js';
import { prepareText } from '../../src/services/text/index.js';
import { latencyModel, startRunPodEmulator } from '../../test/support/runpodEmulator.js';
import { PrecomputedVoice, type EndpointTarget } from './rig.js';
import { storyChunks, textOf } from './texts.js';

const MODES = ['paced', 'unpaced', 'file'] as const;
type Mode = (typeof MODES)[number];
const MiB = 1024 * 1024;
/** 20 ms of 48 kHz stereo s16: what the voice player reads per frame. */
const FRAME_BYTES = 3840;
const FRAME_MS = 20;

interface Job {
  readonly mode: Mode;
  readonly target: EndpointTarget;
  readonly text: string;
  readonly scale: number;
  readonly lookaheadSec: number;
  readonly workers: number;
}

interface Sample {
  /** Seconds of audio time since synthesis started (real-world seconds). */
  readonly atSec: number;
  readonly heardSec: number;
  /** Audio the engine had delivered by then. */
  readonly synthesizedSec: number;
  readonly rssMiB: number;
  readonly heapMiB: number;
  readonly arrayBuffersMiB: number;
}

interface Result {
  readonly mode: Mode;
  readonly chunks: number;
  readonly audioSec: number;
  readonly firstAudioSec: number;
  /** Real-world seconds from start until the last segment arrived. */
  readonly synthesisDoneSec: number;
  readonly maxAheadSec: number;
  /** Audio delivered, and jobs started, by the time the listener had heard two minutes. */
  readonly synthesizedAt2MinSec: number;
  readonly jobsAt2Min: number;
  readonly stalls: number;
  readonly stallSec: number;
  readonly peakRssMiB: number;
  readonly peakHeapMiB: number;
  readonly peakArrayBuffersMiB: number;
  readonly samples: readonly Sample[];
}

/** The story, repeated with marks (distinct chunks), until it has `chars` characters. */
function textOfChars(chars: number): string {
  const pieces = [];
  for (let v = 1; ; v++) {
    for (const piece of storyChunks(v)) {
      pieces.push(piece);
      if ([...textOf(pieces)].length >= chars) return textOf(pieces);
    }
  }
}

/** The listener's clock: `1/scale` times faster than the wall clock; timers shrink to match. */
function scaledClock(scale: number): SchedulerClock {
  const origin = performance.now();
  return {
    now: () => origin + (performance.now() - origin) / scale,
    setTimer: (fn, ms) => setTimeout(fn, ms * scale).unref(),
    clearTimer: (handle) => clearTimeout(handle as NodeJS.Timeout),
  };
}

async function child(job: Job): Promise<Result> {
  const clock = scaledClock(job.scale);
  const config = loadConfig({
    TTS_BACKEND: 'runpod',
    RUNPOD_API_KEY: job.target.apiKey,
    RUNPOD_ENDPOINT_ID: job.target.endpointId,
    RUNPOD_BASE_URL: job.target.baseUrl,
    MAX_CONCURRENT_JOBS: String(job.workers),
    CACHE_MAX_MB: '0',
    LOG_LEVEL: 'silent',
    SYNTH_LOOKAHEAD_SEC: String(job.lookaheadSec),
    NARRATION_TIMEOUT_SEC: '7200',
  });
  const engine = createEngine(config, undefined, undefined, { schedulerClock: clock });
  const gc = (globalThis as { gc?: () => void }).gc;
  const startedAt = clock.now();
  const sinceStart = (): number => (clock.now() - startedAt) / 1000;
  const playing = job.mode !== 'file';
  const stream = playing ? new PcmStream(() => clock.now()) : undefined;
  const recording = new NarrationRecording();
  let jobsStarted = 0;
  const narration = engine.orchestrator.narrate({
    text: job.text,
    maxTextChars: 100_000,
    paced: job.mode === 'paced',
    onProgress: (e) => {
      if (e.type === 'backend' && e.event.type === 'queued') jobsStarted++;
    },
  });
  let synthesizedSec = 0;
  let firstAudioSec = Number.NaN;
  let lastSegmentSec = 0;
  let playbackStart: number | undefined;
  let framesRead = 0;
  let silentFrames = 0;
  let stalls = 0;
  let inStall = false;
  let maxAheadSec = 0;
  let at2Min: { synthesized: number; jobs: number } | undefined;
  const samples: Sample[] = [];
  let nextSampleSec = 0;
  let peakHeap = 0;
  let peakBuffers = 0;
  const heardSec = (): number => (framesRead * FRAME_MS) / 1000;
  const sample = (): void => {
    gc?.();
    const m = process.memoryUsage();
    peakHeap = Math.max(peakHeap, m.heapUsed);
    peakBuffers = Math.max(peakBuffers, m.arrayBuffers);
    samples.push({
      atSec: round(sinceStart()),
      heardSec: round(heardSec()),
      synthesizedSec: round(synthesizedSec),
      rssMiB: round(m.rss / MiB),
      heapMiB: round(m.heapUsed / MiB),
      arrayBuffersMiB: round(m.arrayBuffers / MiB),
    });
  };
  sample();

  // The voice player: 20 ms frames in step with the listener's clock, silence when the next segment is late.
  let done = false;
  const player = playing
    ? setInterval(() => {
        if (playbackStart === undefined) return;
        const due = Math.floor((clock.now() - playbackStart) / FRAME_MS);
        while (framesRead + silentFrames < due) {
          const frame = stream!.read(FRAME_BYTES) as Buffer | null;
          if (frame) {
            framesRead++;
            inStall = false;
          } else if (stream!.readableEnded || (done && stream!.readableLength === 0 && stream!.inputEnded)) {
            break;
          } else {
            silentFrames++;
            if (!inStall) stalls++;
            inStall = true;
          }
        }
        maxAheadSec = Math.max(maxAheadSec, synthesizedSec - heardSec());
        if (!at2Min && heardSec() >= 120) at2Min = { synthesized: synthesizedSec, jobs: jobsStarted };
      }, 5)
    : undefined;
  const sampler = setInterval(() => {
    const audioAt = playing ? heardSec() : sinceStart();
    if (audioAt >= nextSampleSec) {
      nextSampleSec += 60;
      sample();
    }
  }, 20);
  try {
    for await (const segment of narration.segments()) {
      const sec = segment.audio.samples.length / segment.audio.sampleRate;
      synthesizedSec += sec;
      lastSegmentSec = sinceStart();
      if (Number.isNaN(firstAudioSec)) {
        firstAudioSec = lastSegmentSec;
        if (playing) {
          // The player starts on the first segment; the narration's deadlines count from then (NarrationTrack).
          playbackStart = clock.now();
          narration.setPlaybackStart(playbackStart);
        }
      }
      recording.append(segment.audio);
      stream?.pushSegment(segment.audio);
      if (!playing) maxAheadSec = Math.max(maxAheadSec, synthesizedSec);
      if (!playing && !at2Min && sinceStart() >= 120) at2Min = { synthesized: synthesizedSec, jobs: jobsStarted };
    }
    done = true;
    stream?.end();
    // Let the listener hear the rest.
    if (playing) {
      while (heardSec() + 0.05 < synthesizedSec) await new Promise((r) => setTimeout(r, 50));
    }
  } finally {
    clearInterval(player);
    clearInterval(sampler);
  }
  sample();
  const audio = await recording.finish();
  await audio.dispose();
  await engine.close();
  return {
    mode: job.mode,
    chunks: narration.plan.chunks.length,
    audioSec: round(synthesizedSec),
    firstAudioSec: round(firstAudioSec),
    synthesisDoneSec: round(lastSegmentSec),
    maxAheadSec: round(maxAheadSec),
    synthesizedAt2MinSec: round(at2Min?.synthesized ?? synthesizedSec),
    jobsAt2Min: at2Min?.jobs ?? jobsStarted,
    stalls,
    stallSec: round((silentFrames * FRAME_MS) / 1000),
    peakRssMiB: round((process.resourceUsage().maxRSS * 1024) / MiB),
    peakHeapMiB: round(peakHeap / MiB),
    peakArrayBuffersMiB: round(peakBuffers / MiB),
    samples,
  };
}

function round(x: number): number {
  return Math.round(x * 10) / 10;
}

function runChild(job: Job): Promise<Result> {
  const self = fileURLToPath(import.meta.url);
  const root = fileURLToPath(new URL('../../', import.meta.url));
  const proc = spawn(process.execPath, ['--expose-gc', '--import', 'tsx', self, '--child'], { cwd: root, stdio: ['pipe', 'pipe', 'inherit'], env: { ...process.env, NODE_OPTIONS: '' } });
  proc.stdin.end(JSON.stringify(job));
  let out = '';
  proc.stdout.setEncoding('utf8').on('data', (s: string) => (out += s));
  return new Promise((resolve, reject) => {
    proc.once('error', reject);
    proc.once('close', (code) => {
      const line = out.trim().split('\n').at(-1) ?? '';
      if (code !== 0) reject(new Error(`child (${job.mode}) exited with ${code}`));
      else resolve(JSON.parse(line) as Result);
    });
  });
}

async function main(): Promise<void> {
  if (process.argv.includes('--child')) {
    let input = '';
    for await (const s of process.stdin) input += String(s);
    const result = await child(JSON.parse(input) as Job);
    process.stdout.write(`${JSON.stringify(result)}\n`);
    return;
  }
  const { values } = parseArgs({
    options: {
      chars: { type: 'string', default: '50000' },
      scale: { type: 'string', default: '0.05' },
      lookahead: { type: 'string', default: '120' },
      workers: { type: 'string', default: '6' },
      modes: { type: 'string', default: MODES.join(',') },
      json: { type: 'boolean', default: false },
    },
  });
  const scale = Number(values.scale);
  const workers = Number(values.workers);
  const modes = values.modes.split(',').filter((m): m is Mode => (MODES as readonly string[]).includes(m));
  const text = textOfChars(Number(values.chars));
  const chunks = prepareText(text, { maxSpokenChars: 100_000 }).chunks.length;
  process.stderr.write(`${[...text].length} characters, ${chunks} chunks; time scale ${scale}; ${workers} workers; look-ahead ${values.lookahead} s\n`);
  const voice = new PrecomputedVoice().prepare([text]);
  const emulator = await startRunPodEmulator({
    workers,
    coldStartMs: 0,
    jobTimeMs: latencyModel({ a: 1500 * scale, b: 15 * scale, jitter: 0.1, seed: 7 }),
    synth: voice.synth,
  });
  const results: Result[] = [];
  try {
    for (const mode of modes) {
      process.stderr.write(`${mode}…\n`);
      const target = { baseUrl: emulator.baseUrl, endpointId: emulator.endpointId, apiKey: emulator.apiKey };
      results.push(await runChild({ mode, target, text, scale, lookaheadSec: Number(values.lookahead), workers }));
    }
  } finally {
    await emulator.close();
  }
  if (values.json) {
    process.stdout.write(`${JSON.stringify(results, null, 2)}\n`);
    return;
  }
  const rows = results.map((r) => [
    r.mode,
    `${(r.audioSec / 60).toFixed(1)} min`,
    `${r.firstAudioSec.toFixed(1)} s`,
    `${(r.synthesisDoneSec / 60).toFixed(1)} min`,
    `${r.maxAheadSec.toFixed(0)} s`,
    `${r.synthesizedAt2MinSec.toFixed(0)} s (${r.jobsAt2Min} jobs)`,
    `${r.stalls} / ${r.stallSec.toFixed(1)} s`,
    `${r.peakRssMiB.toFixed(0)} MiB`,
    `${r.peakHeapMiB.toFixed(0)} MiB`,
    `${r.peakArrayBuffersMiB.toFixed(0)} MiB`,
  ]);
  const header = ['mode', 'audio', 'first audio', 'synthesis done', 'max ahead', 'made by 2 min heard', 'stalls', 'peak RSS', 'peak heap', 'peak buffers'];
  process.stdout.write(`| ${header.join(' | ')} |\n|${header.map(() => '---').join('|')}|\n`);
  for (const row of rows) process.stdout.write(`| ${row.join(' | ')} |\n`);
  for (const r of results) {
    process.stdout.write(`\n${r.mode}: every 60 s of audio — heard / made / RSS MiB / heap MiB / buffers MiB\n`);
    for (const s of r.samples) process.stdout.write(`  ${s.atSec.toFixed(0).padStart(5)} s: ${s.heardSec.toFixed(0).padStart(5)} / ${s.synthesizedSec.toFixed(0).padStart(5)} / ${s.rssMiB.toFixed(0).padStart(4)} / ${s.heapMiB.toFixed(0).padStart(4)} / ${s.arrayBuffersMiB.toFixed(0).padStart(4)}\n`);
  }
}

await main();
