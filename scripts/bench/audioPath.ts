/**
 * Figure 4: what the bot's own audio work costs, in this process on one core (JavaScript runs on one thread).
 *
 * The pipeline is the playback path from a worker's WAV to Discord's input: decodeWavMono → Stitcher.push (trim,
 * fade, pause) → DiscordPcmConverter.push (resample 24 → 48 kHz, stereo s16le), over the story's clips as the fake
 * voice makes them (24 kHz 16-bit mono, like the real worker). "× realtime" = seconds of narration processed per
 * second of wall time; the CPU-time figure is reported next to it. Each stage is then timed alone, and each
 * installed Opus encoder on 20 ms frames (what @discordjs/voice feeds it), as CPU ms per second of audio.
 */
import { createRequire } from 'node:module';
import { DiscordPcmConverter, DISCORD_CHANNELS, DISCORD_SAMPLE_RATE } from '../../src/services/audio/discordPcm.js';
import { Stitcher } from '../../src/services/audio/stitch.js';
import type { MonoAudio } from '../../src/services/audio/types.js';
import { decodeWavMono } from '../../src/services/audio/wav.js';
import { prepareText } from '../../src/services/text/index.js';
import { fakeSynthesize } from '../../test/support/fakeVoice.js';
import { BENCH_SPEED } from './rig.js';
import type { BenchSettings } from './settings.js';
import { median } from './stats.js';
import { VIETNAMESE_STORY } from './texts.js';

export interface Rate {
  readonly name: string;
  /** Timed passes, each over the same `audioSecPerPass` seconds of audio. */
  readonly passes: number;
  readonly audioSecPerPass: number;
  /** Seconds of audio per second of wall time: the median pass, and the slowest and fastest (noise). */
  readonly xRealtime: number;
  readonly xRealtimeMin: number;
  readonly xRealtimeMax: number;
  /** CPU ms (user + system) per second of audio, over all passes. */
  readonly cpuMsPerAudioSec: number;
}

export interface OpusRate {
  readonly encoder: '@discordjs/opus' | 'opusscript';
  readonly available: boolean;
  readonly rate?: Rate;
  readonly note?: string;
}

export interface AudioPathResults {
  readonly clips: number;
  readonly narrationSec: number;
  readonly pipeline: Rate;
  readonly stages: readonly Rate[];
  readonly opus: readonly OpusRate[];
}

/** 20 ms at 48 kHz: the frame @discordjs/voice encodes. */
const FRAME_SAMPLES = 960;
const FRAME_BYTES = FRAME_SAMPLES * DISCORD_CHANNELS * 2;

/**
 * Runs `pass` once to warm up, then repeatedly for at least `minSec` and at least 5 times, timing each pass: the
 * median pass is the figure (other processes on a shared 2-core machine make single passes stall now and then).
 */
function measure(name: string, minSec: number, audioSecPerPass: number, pass: () => void): Rate {
  pass();
  const cpu0 = process.cpuUsage();
  const start = performance.now();
  const rates: number[] = [];
  do {
    const t0 = performance.now();
    pass();
    rates.push(audioSecPerPass / ((performance.now() - t0) / 1000));
  } while (rates.length < 5 || performance.now() - start < minSec * 1000);
  const used = process.cpuUsage(cpu0);
  return {
    name,
    passes: rates.length,
    audioSecPerPass,
    xRealtime: median(rates),
    xRealtimeMin: Math.min(...rates),
    xRealtimeMax: Math.max(...rates),
    cpuMsPerAudioSec: (used.user + used.system) / 1000 / (audioSecPerPass * rates.length),
  };
}

const require = createRequire(import.meta.url);

interface FrameEncoder {
  encode(frame: Buffer): Buffer;
  release(): void;
}

/** The encoder, or why it is not available (both are optional at install time). */
function loadEncoder(name: OpusRate['encoder']): FrameEncoder | string {
  try {
    if (name === '@discordjs/opus') {
      const { OpusEncoder } = require('@discordjs/opus') as { OpusEncoder: new (rate: number, channels: number) => { encode(pcm: Buffer): Buffer } };
      const enc = new OpusEncoder(DISCORD_SAMPLE_RATE, DISCORD_CHANNELS);
      return { encode: (frame) => enc.encode(frame), release: () => undefined };
    }
    type OpusScriptClass = (new (rate: number, channels: number, application: number) => {
      encode(pcm: Buffer, frameSize: number): Buffer;
      delete(): void;
    }) & { Application: { AUDIO: number } };
    const OpusScript = require('opusscript') as OpusScriptClass;
    const enc = new OpusScript(DISCORD_SAMPLE_RATE, DISCORD_CHANNELS, OpusScript.Application.AUDIO);
    return { encode: (frame) => enc.encode(frame, FRAME_SAMPLES), release: () => enc.delete() };
  } catch (err) {
    return `not loadable: ${err instanceof Error ? err.message.split('\n')[0] : String(err)}`;
  }
}

export function runAudioPath(settings: BenchSettings): AudioPathResults {
  const all = prepareText(VIETNAMESE_STORY).chunks;
  const chunks = settings.audioClips > 0 ? all.slice(0, settings.audioClips) : all;
  const wavs = chunks.map((c) => fakeSynthesize(c.text, BENCH_SPEED));
  const sampleRate = decodeWavMono(wavs[0]!).sampleRate;

  // One reference pass: the stage inputs, and the narration's length.
  const monos: MonoAudio[] = wavs.map((w) => decodeWavMono(w));
  const stitcher = new Stitcher({ sampleRate });
  const pieces = monos.map((m, i) => stitcher.push(m, chunks[i]!.breakBefore));
  const narrationSec = stitcher.totalSamples / sampleRate;
  const converter = new DiscordPcmConverter(sampleRate);
  const pcm = Buffer.concat([...pieces.map((p) => converter.push(p)), converter.flush()]);

  const min = settings.audioMinSec;
  const pipeline = measure('WAV → 48 kHz stereo PCM (whole path)', min, narrationSec, () => {
    const s = new Stitcher({ sampleRate });
    const c = new DiscordPcmConverter(sampleRate);
    wavs.forEach((wav, i) => c.push(s.push(decodeWavMono(wav), chunks[i]!.breakBefore)));
    c.flush();
  });
  const stages = [
    measure('WAV parse (decodeWavMono)', min / 2, narrationSec, () => {
      for (const wav of wavs) decodeWavMono(wav);
    }),
    measure('trim + fade + pause (Stitcher.push)', min / 2, narrationSec, () => {
      const s = new Stitcher({ sampleRate });
      monos.forEach((m, i) => s.push(m, chunks[i]!.breakBefore));
    }),
    measure('resample + stereo s16 (DiscordPcmConverter)', min / 2, narrationSec, () => {
      const c = new DiscordPcmConverter(sampleRate);
      for (const p of pieces) c.push(p);
      c.flush();
    }),
  ];

  // Opus on the first 10 s (500 frames) per pass: enough to be steady, short enough to repeat many times.
  const frames: Buffer[] = [];
  for (let at = 0; at + FRAME_BYTES <= pcm.length && frames.length < 500; at += FRAME_BYTES) frames.push(pcm.subarray(at, at + FRAME_BYTES));
  const framesSec = (frames.length * FRAME_SAMPLES) / DISCORD_SAMPLE_RATE;
  const opus = (['@discordjs/opus', 'opusscript'] as const).map((name): OpusRate => {
    const encoder = loadEncoder(name);
    if (typeof encoder === 'string') return { encoder: name, available: false, note: encoder };
    try {
      const rate = measure(`Opus encode, ${name}`, min / 2, framesSec, () => {
        for (const frame of frames) encoder.encode(frame);
      });
      return { encoder: name, available: true, rate };
    } finally {
      encoder.release();
    }
  });

  return { clips: wavs.length, narrationSec, pipeline, stages, opus };
}
