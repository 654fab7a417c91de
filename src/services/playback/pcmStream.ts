/**
 * The Readable that voice playback reads: 48 kHz stereo s16le (`StreamType.Raw`, straight into the Opus encoder,
 * no FFmpeg), fed with a narration's segments as they are synthesized.
 *
 * It decouples the two speeds: segments arrive in bursts (whenever a GPU job finishes), the player pulls 20 ms at
 * a time. Arriving segments wait here as mono float audio — half the size of the PCM — and are converted only
 * when the stream is asked for more (`_read`), so memory holds at most one converted segment beyond what the
 * encoder buffers. While nothing is queued and the narration is still going, `_read` simply does not push: the
 * stream stays open, the player sends silence frames, and the next segment resumes it. The stream ends only when
 * `end()` is called — after the last segment, or after a mid-way failure (what was received still plays).
 */
import { Readable } from 'node:stream';
import { DiscordPcmConverter } from '../audio/discordPcm.js';
import type { MonoAudio } from '../audio/types.js';

export class PcmStream extends Readable {
  private readonly pending: MonoAudio[] = [];
  private converter: DiscordPcmConverter | undefined;
  private converterRate = 0;
  private ended = false;
  private waiting = false;
  private receivedSamples = 0;

  constructor() {
    // ~1 s of 48 kHz stereo s16 ahead of the encoder is plenty; the rest waits here as mono floats.
    super({ highWaterMark: 192_000 });
  }

  /** Seconds of audio received so far (at the source rate). */
  get receivedSeconds(): number {
    return this.converterRate ? this.receivedSamples / this.converterRate : 0;
  }

  /** Queues the next segment; it will play after everything queued before it. Ignored after `end()`. */
  pushSegment(audio: MonoAudio): void {
    if (this.ended || this.destroyed) return;
    this.pending.push(audio);
    this.receivedSamples += audio.samples.length;
    if (!this.converterRate) this.converterRate = audio.sampleRate;
    if (this.waiting) this.deliver();
  }

  /** No more segments: the stream ends once what was queued has been read. */
  end(): void {
    if (this.ended) return;
    this.ended = true;
    if (this.waiting) this.deliver();
  }

  override _read(): void {
    this.waiting = true;
    this.deliver();
  }

  /** Pushes queued audio while the consumer wants more; ends the stream when everything has been delivered. */
  private deliver(): void {
    while (this.waiting && !this.destroyed) {
      const next = this.pending.shift();
      if (next) {
        const pcm = this.convert(next);
        if (pcm.length > 0) this.waiting = this.push(pcm);
        continue;
      }
      if (this.ended) {
        const tail = this.converter?.flush();
        if (tail && tail.length > 0) this.push(tail);
        this.waiting = false;
        this.push(null);
      }
      return;
    }
  }

  private convert(audio: MonoAudio): Buffer {
    if (!this.converter || audio.sampleRate !== this.converterRate) {
      // A narration keeps one rate; a change (never expected) restarts the converter after flushing the old one.
      const tail = this.converter?.flush();
      this.converter = new DiscordPcmConverter(audio.sampleRate);
      this.converterRate = audio.sampleRate;
      const head = this.converter.push(audio.samples);
      return tail && tail.length ? Buffer.concat([tail, head]) : head;
    }
    return this.converter.push(audio.samples);
  }
}
