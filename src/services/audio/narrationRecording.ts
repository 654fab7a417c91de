/**
 * A narration's audio written to disk as it is synthesized, for the attachment at its end: 16-bit PCM WAV (header
 * patched on finish) and, when an Opus encoder is installed, Ogg Opus — both as segments arrive, because which one
 * is attached (WAV, or Ogg Opus when the WAV exceeds the server's upload limit) is only known at the end.
 *
 * Why incremental: joining all segments, encoding and copying them at the end is ~250 ms of synchronous work for
 * 218 s of audio, on the event loop that paces every guild's 20 ms voice frames; and a 30-minute narration held
 * ~0.4 GB. Here a segment is converted and written in half-second slices (asynchronously, in order, yielding to
 * the event loop between slices) and then forgotten, so finishing costs a header patch and memory stays flat.
 *
 * The files live in a folder under os.tmpdir() named `narrator-rec-<pid>-…`, made on the first segment. They are
 * always removed: `dispose()` after the attachment has been read, after a cancel or a failure; and, as a last
 * resort, at process exit for any recording still alive.
 */
import { rmSync } from 'node:fs';
import { mkdtemp, open, rm, type FileHandle } from 'node:fs/promises';
import { setImmediate as yieldToEventLoop } from 'node:timers/promises';
import { endianness, tmpdir } from 'node:os';
import { join } from 'node:path';
import { OggOpusStream, OPUS_RATES } from './oggOpus.js';
import { Resampler } from './resample.js';
import type { MonoAudio } from './types.js';
import { floatToInt16, wavHeader } from './wav.js';

/**
 * Segments are converted and written in slices of this many seconds, yielding to the event loop between them:
 * a 20 s segment converted at once blocked the voice frames of every guild for tens of milliseconds.
 */
const SLICE_SEC = 0.5;
const WAV_HEADER_BYTES = 44;
const LITTLE_ENDIAN = endianness() === 'LE';

/** Temp folders of this process start with this (tests look for leftovers by it). */
export const RECORDING_PREFIX = `narrator-rec-${process.pid}-`;

export interface RecordedFile {
  readonly path: string;
  readonly bytes: number;
}

/** The finished recording. Its files stay until `dispose()`. */
export interface RecordedAudio {
  readonly sampleRate: number;
  readonly durationSec: number;
  readonly wav: RecordedFile;
  /** Missing when no Opus encoder is installed, or Opus encoding failed (the WAV is still good). */
  readonly ogg?: RecordedFile;
  /** Removes the files (idempotent). */
  dispose(): Promise<void>;
}

/** Folders of recordings not yet disposed: removed synchronously if the process exits first. */
const live = new Set<string>();
let exitHookInstalled = false;
function remember(dir: string): void {
  live.add(dir);
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  process.once('exit', () => {
    for (const d of live) rmSync(d, { recursive: true, force: true });
  });
}

interface OggTrack {
  readonly stream: OggOpusStream;
  readonly file: FileHandle;
  readonly resampler: Resampler | undefined;
  bytes: number;
}

export class NarrationRecording {
  private dir: string | undefined;
  private wav: FileHandle | undefined;
  private wavBytes = 0;
  private ogg: OggTrack | undefined;
  private chain: Promise<void> = Promise.resolve();
  private failure: unknown;
  private samples = 0;
  private sampleRate = 0;
  private disposed = false;
  private finishing = false;

  /** `opus: false` writes only the WAV (e.g. when the caller knows it always fits). */
  constructor(private readonly options: { readonly opus?: boolean } = {}) {}

  /** Queues a segment (same rate as the first); written in order in the background. Ignored once disposed. */
  append(audio: MonoAudio): void {
    if (this.disposed || this.finishing || audio.samples.length === 0) return;
    this.chain = this.chain.then(async () => {
      if (this.failure !== undefined || this.disposed) return;
      try {
        await this.write(audio);
      } catch (err) {
        this.failure = err;
      }
    });
  }

  /**
   * Waits for the queued writes, then completes both files. Rejects if the WAV could not be written (the files
   * are removed then). With no audio at all, the WAV is a valid empty file.
   */
  async finish(): Promise<RecordedAudio> {
    this.finishing = true;
    await this.chain;
    try {
      if (this.failure !== undefined) throw this.failure;
      if (this.disposed) throw new Error('The recording was disposed.');
      if (!this.wav) await this.open(this.sampleRate || 24_000);
      const wav = this.wav!;
      this.wav = undefined;
      // The RIFF sizes are known only now: patch the header written as a placeholder.
      await wav.write(wavHeader(this.sampleRate, this.wavBytes), 0, WAV_HEADER_BYTES, 0);
      await wav.close();
      const wavPath = join(this.dir!, 'narration.wav');
      let ogg: RecordedFile | undefined;
      if (this.ogg) {
        const track = this.ogg;
        this.ogg = undefined;
        try {
          const tail = track.resampler?.flush();
          if (tail?.length) await this.pushOgg(track, tail);
          const last = await track.stream.finish();
          await track.file.write(last);
          track.bytes += last.length;
          ogg = { path: join(this.dir!, 'narration.ogg'), bytes: track.bytes };
        } catch {
          ogg = undefined;
        } finally {
          track.stream.release();
          await track.file.close().catch(() => undefined);
        }
      }
      const rate = this.sampleRate;
      return {
        sampleRate: rate,
        durationSec: this.samples / rate,
        wav: { path: wavPath, bytes: WAV_HEADER_BYTES + this.wavBytes },
        ogg,
        dispose: () => this.dispose(),
      };
    } catch (err) {
      await this.dispose();
      throw err;
    }
  }

  /** Stops writing and removes the files (idempotent; safe while segments are still being written). */
  async dispose(): Promise<void> {
    this.disposed = true;
    await this.chain;
    if (this.ogg) {
      this.ogg.stream.release();
      await this.ogg.file.close().catch(() => undefined);
      this.ogg = undefined;
    }
    if (this.wav) {
      await this.wav.close().catch(() => undefined);
      this.wav = undefined;
    }
    const dir = this.dir;
    this.dir = undefined;
    if (dir) {
      await rm(dir, { recursive: true, force: true });
      live.delete(dir);
    }
  }

  private async open(sampleRate: number): Promise<void> {
    this.sampleRate = sampleRate;
    this.dir = await mkdtemp(join(tmpdir(), RECORDING_PREFIX));
    remember(this.dir);
    this.wav = await open(join(this.dir, 'narration.wav'), 'w');
    await this.wav.write(wavHeader(sampleRate, 0), 0, WAV_HEADER_BYTES, 0);
    if (this.options.opus === false) return;
    // Opus takes only some rates: others (espeak's 22 050 Hz) are resampled as they come.
    const opusRate = OPUS_RATES.includes(sampleRate) ? sampleRate : sampleRate > 24_000 ? 48_000 : 24_000;
    let stream: OggOpusStream;
    try {
      stream = await OggOpusStream.create(opusRate, 1);
    } catch {
      return; // no Opus library: WAV only
    }
    const file = await open(join(this.dir, 'narration.ogg'), 'w');
    const header = stream.header();
    await file.write(header);
    this.ogg = { stream, file, bytes: header.length, resampler: opusRate === sampleRate ? undefined : new Resampler(sampleRate, opusRate) };
  }

  private async write(audio: MonoAudio): Promise<void> {
    if (!this.wav) await this.open(audio.sampleRate);
    const slice = Math.max(1, Math.round(audio.sampleRate * SLICE_SEC));
    for (let at = 0; at < audio.samples.length; at += slice) {
      const part = audio.samples.subarray(at, at + slice);
      const pcm = toPcm16(part);
      const view = Buffer.from(pcm.buffer, pcm.byteOffset, pcm.byteLength);
      const bytes = LITTLE_ENDIAN ? view : Buffer.from(view).swap16(); // WAV is little-endian
      await this.wav!.write(bytes, 0, bytes.length, WAV_HEADER_BYTES + this.wavBytes);
      this.wavBytes += pcm.byteLength;
      this.samples += part.length;
      if (this.ogg) await this.writeOgg(this.ogg, part, pcm);
      await yieldToEventLoop();
    }
  }

  private async writeOgg(ogg: OggTrack, samples: Float32Array, pcm: Int16Array): Promise<void> {
    try {
      if (ogg.resampler) await this.pushOgg(ogg, ogg.resampler.process(samples));
      else await this.pushPcm(ogg, pcm);
    } catch {
      // Opus is the fallback format only: lose it, keep the WAV.
      this.ogg = undefined;
      ogg.stream.release();
      await ogg.file.close().catch(() => undefined);
    }
  }

  private async pushOgg(ogg: OggTrack, samples: Float32Array): Promise<void> {
    await this.pushPcm(ogg, toPcm16(samples));
  }

  private async pushPcm(ogg: OggTrack, pcm: Int16Array): Promise<void> {
    for (const page of await ogg.stream.push(pcm)) {
      await ogg.file.write(page);
      ogg.bytes += page.length;
    }
  }
}

/** Float samples as 16-bit PCM (platform byte order). */
function toPcm16(samples: Float32Array): Int16Array {
  const pcm = new Int16Array(samples.length);
  for (let i = 0; i < samples.length; i++) pcm[i] = floatToInt16(samples[i]!);
  return pcm;
}
