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
 *
 * Stalls — silence the player inserts because the next segment was not ready — are measured here by accounting
 * rather than by watching frames: the player consumes audio in real time while it is Playing (the session says
 * when, `setPlaying`), so when a segment arrives later than the audio before it could last, the difference is
 * silence the listener heard. Counted from the first segment on (the wait for the first one is first-audio
 * latency, not a stall); shorter than two frames is not counted (frame and timer jitter).
 *
 * The same accounting tells which segment the listener hears now (`audibleSegment`), so a narration suspended for
 * a restart resumes from the sentence it had reached; `onSegmentStart` reports each segment as the encoder starts
 * on it (segment boundaries only: the queue's persisted position is updated there, never per frame).
 */
import { Readable } from 'node:stream';
import { DiscordPcmConverter } from '../audio/discordPcm.js';
import type { MonoAudio } from '../audio/types.js';

/** A gap shorter than this is frame/timer jitter, not a stall a listener would notice. */
const STALL_MIN_MS = 40;

export interface StallStats {
  readonly count: number;
  readonly seconds: number;
}

export class PcmStream extends Readable {
  private readonly pending: MonoAudio[] = [];
  private converter: DiscordPcmConverter | undefined;
  private converterRate = 0;
  private ended = false;
  private waiting = false;
  private receivedSamples = 0;
  /** Play time accumulated before `playingSince` (ms), and since when the player is Playing now. */
  private playedMs = 0;
  private playingSince: number | undefined;
  private stallCount = 0;
  private stallMs = 0;
  /** All silence inserted so far, jitter included: the play position is `played - silenceMs`. */
  private silenceMs = 0;
  /** Where each received segment ends in the audio (ms, cumulative), for `audibleSegment`. */
  private readonly segmentEndsMs: number[] = [];
  /** Segments handed to the encoder so far. */
  private segmentsStarted = 0;
  /** Called with a segment's ordinal (0 = the first received) when the encoder starts reading it. */
  onSegmentStart: ((ordinal: number) => void) | undefined;

  /** `now` is injectable so stall accounting can be tested without real time. */
  constructor(private readonly now: () => number = () => performance.now()) {
    // ~1 s of 48 kHz stereo s16 ahead of the encoder is plenty; the rest waits here as mono floats.
    super({ highWaterMark: 192_000 });
  }

  /** Stalls so far: how many times, and how many seconds of inserted silence in all. */
  get stalls(): StallStats {
    return { count: this.stallCount, seconds: this.stallMs / 1000 };
  }

  /** The player is (not) consuming this stream in real time now: Playing, versus buffering or (auto)paused. */
  setPlaying(playing: boolean): void {
    const now = this.now();
    if (playing && this.playingSince === undefined) this.playingSince = now;
    else if (!playing && this.playingSince !== undefined) {
      this.playedMs += now - this.playingSince;
      this.playingSince = undefined;
    }
  }

  /** Seconds of audio received so far (at the source rate). */
  get receivedSeconds(): number {
    return this.converterRate ? this.receivedSamples / this.converterRate : 0;
  }

  /** Queues the next segment; it will play after everything queued before it. Ignored after `end()`. */
  pushSegment(audio: MonoAudio): void {
    if (this.ended || this.destroyed) return;
    this.countStall();
    this.pending.push(audio);
    this.receivedSamples += audio.samples.length;
    if (!this.converterRate) this.converterRate = audio.sampleRate;
    this.segmentEndsMs.push((this.receivedSamples / this.converterRate) * 1000);
    if (this.waiting) this.deliver();
  }

  /**
   * Ordinal of the segment the listener hears now (from the play time minus the silence inserted), or -1 before
   * any segment arrived. While stalled it is the last received one: everything before it has been heard.
   */
  audibleSegment(): number {
    if (this.segmentEndsMs.length === 0) return -1;
    const played = this.playedMs + (this.playingSince === undefined ? 0 : this.now() - this.playingSince) - this.silenceMs;
    const index = this.segmentEndsMs.findIndex((end) => end > played);
    return index === -1 ? this.segmentEndsMs.length - 1 : index;
  }

  /** No more segments: the stream ends once what was queued has been read. */
  end(): void {
    if (this.ended) return;
    this.ended = true;
    if (this.waiting) this.deliver();
  }

  /** Did the player run out of audio before this segment arrived? Then the overrun was silence. */
  private countStall(): void {
    if (!this.converterRate) return;
    const played = this.playedMs + (this.playingSince === undefined ? 0 : this.now() - this.playingSince);
    const audioMs = (this.receivedSamples / this.converterRate) * 1000;
    const silence = played - this.silenceMs - audioMs;
    if (silence <= 0) return;
    this.silenceMs += silence;
    if (silence >= STALL_MIN_MS) {
      this.stallCount++;
      this.stallMs += silence;
    }
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
        this.onSegmentStart?.(this.segmentsStarted++);
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
