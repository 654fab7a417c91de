/**
 * The emulators' stand-in for F5-TTS: a deterministic, speech-like WAV for any text, plus a small WAV writer and
 * reader of its own.
 *
 * Shaped after what the real worker returns (../../shared/contracts/worker.md §4): 24 kHz mono, a voiced part
 * whose length follows the narrator voice (~0.064 s per character at speed 1, divided by speed), and quiet edges
 * (~80 ms of near-silence at −80 dBFS, not digital zero) so that the engine's edge trimming is really exercised.
 * The voiced part is a harmonic tone whose pitch comes from a hash of the text (different chunks sound
 * different, the same chunk is byte-identical every time) under a ~4 Hz syllable envelope, peaking near 0.3.
 *
 * The WAV writer is hand-written here on purpose: the project's own encoder is code under test, and fixtures
 * must not be made by the code they check. It writes the three layouts torchaudio/libsndfile produce:
 * 16-bit PCM (plain 44-byte header), 32-bit float (format tag 3 with `fact` and `PEAK` chunks) and
 * WAVE_FORMAT_EXTENSIBLE (0xFFFE) with the IEEE-float sub-format and a `fact` chunk.
 */

export type FakeWavFormat = 'pcm16' | 'float32' | 'extensible';

export interface FakeVoiceOptions {
  /** Default 24 000 (the worker's rate). */
  readonly sampleRate?: number;
  /** Default 'pcm16'. */
  readonly format?: FakeWavFormat;
}

export const FAKE_VOICE = {
  secondsPerChar: 0.064,
  minSpeechSeconds: 0.3,
  edgeSilenceSeconds: 0.08,
  amplitude: 0.3,
  syllableHz: 4,
  /** Uniform noise in the quiet edges: about −80 dBFS, well under any sane trim threshold. */
  noiseFloor: 1e-4,
  sampleRate: 24_000,
} as const;

/** FNV-1a over the UTF-8 bytes: a stable 32-bit hash so that every fixture is reproducible. */
export function textHash(text: string): number {
  let h = 0x811c9dc5;
  for (const byte of new TextEncoder().encode(text)) {
    h ^= byte;
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return h >>> 0;
}

/** mulberry32: a tiny seeded PRNG in [0, 1). */
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Seconds of voiced audio the fake voice produces for `text` at `speed` (edges not included). */
export function fakeSpeechSeconds(text: string, speed: number): number {
  assertSpeed(speed);
  return Math.max(FAKE_VOICE.minSpeechSeconds, ([...text].length * FAKE_VOICE.secondsPerChar) / speed);
}

/** The pitch (Hz) the fake voice uses for `text`: 110–250 Hz, like a speaking voice. */
export function fakePitchHz(text: string): number {
  return 110 + (textHash(text) % 141);
}

/** The fake voice as samples in [-1, 1], before WAV encoding. */
export function fakeSpeechSamples(text: string, speed: number, sampleRate: number = FAKE_VOICE.sampleRate): Float32Array {
  const edge = Math.round(FAKE_VOICE.edgeSilenceSeconds * sampleRate);
  const voiced = Math.round(fakeSpeechSeconds(text, speed) * sampleRate);
  const samples = new Float32Array(edge + voiced + edge);
  const random = seededRandom(textHash(text) ^ 0x5eed);
  for (let i = 0; i < samples.length; i++) samples[i] = (random() * 2 - 1) * FAKE_VOICE.noiseFloor;

  const f0 = fakePitchHz(text);
  const ramp = Math.round(0.01 * sampleRate); // 10 ms ramps: no click at the voiced edges
  for (let i = 0; i < voiced; i++) {
    const t = i / sampleRate;
    const phase = 2 * Math.PI * f0 * t;
    const tone = (Math.sin(phase) + 0.4 * Math.sin(2 * phase) + 0.2 * Math.sin(3 * phase)) / 1.6;
    // Syllables: loudness swings at ~4 Hz but never to zero, so the voiced part has no inner silences.
    const syllable = 0.2 + 0.8 * (0.5 - 0.5 * Math.cos(2 * Math.PI * FAKE_VOICE.syllableHz * t));
    const edgeGain = Math.min(1, i / ramp, (voiced - 1 - i) / ramp);
    samples[edge + i] = FAKE_VOICE.amplitude * syllable * tone * Math.max(0, edgeGain);
  }
  return samples;
}

/** Deterministic speech-like WAV for `text` at `speed`: the default synthesizer of both emulators. */
export function fakeSynthesize(text: string, speed: number, opts: FakeVoiceOptions = {}): Uint8Array {
  const sampleRate = opts.sampleRate ?? FAKE_VOICE.sampleRate;
  return encodeTestWav(fakeSpeechSamples(text, speed, sampleRate), sampleRate, opts.format ?? 'pcm16');
}

function assertSpeed(speed: number): void {
  if (!Number.isFinite(speed) || speed <= 0) throw new RangeError(`fake voice speed must be a positive number, got ${speed}`);
}

// ---------------------------------------------------------------------------------------------------------
// WAV writer

const KSDATAFORMAT_SUBTYPE_IEEE_FLOAT = [0x03, 0x00, 0x00, 0x00, 0x00, 0x00, 0x10, 0x00, 0x80, 0x00, 0x00, 0xaa, 0x00, 0x38, 0x9b, 0x71];

interface Chunk {
  readonly id: string;
  readonly body: Uint8Array;
}

/** Mono WAV in one of the worker's three layouts; floats are clamped to [-1, 1] before PCM quantisation. */
export function encodeTestWav(samples: Float32Array, sampleRate: number, format: FakeWavFormat): Uint8Array {
  const frames = samples.length;
  if (format === 'pcm16') {
    const data = new DataView(new ArrayBuffer(frames * 2));
    for (let i = 0; i < frames; i++) {
      const s = Math.max(-1, Math.min(1, samples[i] ?? 0));
      data.setInt16(i * 2, Math.round(s * 32767), true);
    }
    return riff([{ id: 'fmt ', body: fmtBody(1, sampleRate, 16, 0) }, { id: 'data', body: bytesOf(data) }]);
  }

  const data = new DataView(new ArrayBuffer(frames * 4));
  let peak = 0;
  let peakAt = 0;
  for (let i = 0; i < frames; i++) {
    const s = samples[i] ?? 0;
    data.setFloat32(i * 4, s, true);
    if (Math.abs(s) > peak) {
      peak = Math.abs(s);
      peakAt = i;
    }
  }
  const fact = new DataView(new ArrayBuffer(4));
  fact.setUint32(0, frames, true);
  if (format === 'float32') {
    // libsndfile's PEAK chunk: version, timestamp, then (value, position) per channel.
    const peakChunk = new DataView(new ArrayBuffer(16));
    peakChunk.setUint32(0, 1, true);
    peakChunk.setUint32(4, 0, true);
    peakChunk.setFloat32(8, peak, true);
    peakChunk.setUint32(12, peakAt, true);
    return riff([
      { id: 'fmt ', body: fmtBody(3, sampleRate, 32, 0) },
      { id: 'fact', body: bytesOf(fact) },
      { id: 'PEAK', body: bytesOf(peakChunk) },
      { id: 'data', body: bytesOf(data) },
    ]);
  }
  return riff([
    { id: 'fmt ', body: fmtBody(0xfffe, sampleRate, 32, 22) },
    { id: 'fact', body: bytesOf(fact) },
    { id: 'data', body: bytesOf(data) },
  ]);
}

function fmtBody(tag: number, sampleRate: number, bits: number, cbSize: number): Uint8Array {
  const blockAlign = bits / 8; // mono
  // PCM: the classic 16-byte fmt; float: 18 bytes (cbSize 0); extensible: 18 + 22.
  const size = tag === 1 ? 16 : 18 + cbSize;
  const v = new DataView(new ArrayBuffer(size));
  v.setUint16(0, tag, true);
  v.setUint16(2, 1, true);
  v.setUint32(4, sampleRate, true);
  v.setUint32(8, sampleRate * blockAlign, true);
  v.setUint16(12, blockAlign, true);
  v.setUint16(14, bits, true);
  if (tag !== 1) v.setUint16(16, cbSize, true);
  if (tag === 0xfffe) {
    v.setUint16(18, bits, true); // valid bits per sample
    v.setUint32(20, 0x4, true); // channel mask: SPEAKER_FRONT_CENTER
    KSDATAFORMAT_SUBTYPE_IEEE_FLOAT.forEach((b, i) => v.setUint8(24 + i, b));
  }
  return bytesOf(v);
}

function riff(chunks: readonly Chunk[]): Uint8Array {
  const bodySize = chunks.reduce((n, c) => n + 8 + c.body.length + (c.body.length % 2), 0);
  const out = new Uint8Array(12 + bodySize);
  const v = new DataView(out.buffer);
  writeId(out, 0, 'RIFF');
  v.setUint32(4, 4 + bodySize, true);
  writeId(out, 8, 'WAVE');
  let at = 12;
  for (const chunk of chunks) {
    writeId(out, at, chunk.id);
    v.setUint32(at + 4, chunk.body.length, true);
    out.set(chunk.body, at + 8);
    at += 8 + chunk.body.length + (chunk.body.length % 2);
  }
  return out;
}

function writeId(out: Uint8Array, at: number, id: string): void {
  for (let i = 0; i < 4; i++) out[at + i] = id.charCodeAt(i);
}

function bytesOf(view: DataView): Uint8Array {
  return new Uint8Array(view.buffer, view.byteOffset, view.byteLength);
}

// ---------------------------------------------------------------------------------------------------------
// WAV reader: an oracle independent of the project's decoder, for tests that check what the emulators produce.

export interface TestWav {
  readonly formatTag: number;
  readonly channels: number;
  readonly sampleRate: number;
  readonly bitsPerSample: number;
  /** Chunk ids in file order, e.g. ['fmt ', 'fact', 'PEAK', 'data']. */
  readonly chunkIds: readonly string[];
  /** Channel 0 as floats in [-1, 1]. */
  readonly samples: Float32Array;
}

export function decodeTestWav(bytes: Uint8Array): TestWav {
  const v = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const id = (at: number): string => String.fromCharCode(...bytes.subarray(at, at + 4));
  if (bytes.length < 12 || id(0) !== 'RIFF' || id(8) !== 'WAVE') throw new Error('not a RIFF/WAVE file');
  const chunkIds: string[] = [];
  let fmt: { rawTag: number; tag: number; channels: number; sampleRate: number; bits: number } | undefined;
  let data: Uint8Array | undefined;
  for (let at = 12; at + 8 <= bytes.length; ) {
    const chunkId = id(at);
    const size = v.getUint32(at + 4, true);
    chunkIds.push(chunkId);
    const body = at + 8;
    if (chunkId === 'fmt ') {
      const rawTag = v.getUint16(body, true);
      // WAVE_FORMAT_EXTENSIBLE: the sub-format GUID starts with the real tag.
      const tag = rawTag === 0xfffe ? v.getUint16(body + 24, true) : rawTag;
      fmt = { rawTag, tag, channels: v.getUint16(body + 2, true), sampleRate: v.getUint32(body + 4, true), bits: v.getUint16(body + 14, true) };
    } else if (chunkId === 'data') {
      data = bytes.subarray(body, Math.min(bytes.length, body + size));
    }
    at = body + size + (size % 2);
  }
  if (!fmt || !data) throw new Error('WAV without fmt or data chunk');
  const stride = (fmt.bits / 8) * fmt.channels;
  const frames = Math.floor(data.length / stride);
  const dv = new DataView(data.buffer, data.byteOffset, data.byteLength);
  const samples = new Float32Array(frames);
  for (let i = 0; i < frames; i++) {
    if (fmt.tag === 3 && fmt.bits === 32) samples[i] = Math.max(-1, Math.min(1, dv.getFloat32(i * stride, true)));
    else if (fmt.tag === 1 && fmt.bits === 16) samples[i] = dv.getInt16(i * stride, true) / 32768;
    else throw new Error(`unsupported WAV layout: tag ${fmt.tag}, ${fmt.bits} bits`);
  }
  return { formatTag: fmt.rawTag, channels: fmt.channels, sampleRate: fmt.sampleRate, bitsPerSample: fmt.bits, chunkIds, samples };
}

// ---------------------------------------------------------------------------------------------------------
// Latency: how long the fake synthesizer "takes", so emulated jobs behave like F5-TTS (fixed cost + per char).

export interface LatencyModelOptions {
  /** Fixed cost per job, ms (default 40). */
  readonly a?: number;
  /** Cost per character, ms (default 0.25: a 250-character chunk takes ~100 ms). */
  readonly b?: number;
  /** Relative jitter: the time is scaled by a factor in [1 − jitter, 1 + jitter] (default 0.15). */
  readonly jitter?: number;
  /** Seed of the jitter (default 1). */
  readonly seed?: number;
}

/**
 * `a + b × chars` with seeded jitter. The jitter depends on the seed, the text and how many times this model
 * has timed that text, never on call order across texts, so concurrent clients still see reproducible
 * timings, while a re-submitted chunk gets a different (but reproducible) time, as on a real GPU.
 */
export function latencyModel(opts: LatencyModelOptions = {}): (input: Readonly<Record<string, unknown>>) => number {
  const { a = 40, b = 0.25, jitter = 0.15, seed = 1 } = opts;
  const seen = new Map<string, number>();
  return (input) => {
    const text = typeof input['text'] === 'string' ? input['text'] : '';
    const occurrence = (seen.get(text) ?? 0) + 1;
    seen.set(text, occurrence);
    const u = seededRandom(textHash(`${seed}\u0000${occurrence}\u0000${text}`))() * 2 - 1;
    return Math.max(1, Math.round((a + b * [...text].length) * (1 + jitter * u)));
  };
}
