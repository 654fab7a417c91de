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
 * ⏮ back needs the audio just heard: the last few segments taken for conversion stay here as mono floats
 * (`HISTORY_SEGMENTS`, so memory stays bounded — a segment is at most ~25 s), each with its start on the
 * narration's timeline. `replayFrom(position)` hands out the segment under the play position (or the one before it
 * in the first second of a segment) and everything after it, for a new stream that starts there: the player's and
 * encoder's buffers cannot be rewound, so going back means a fresh stream, never a seek in this one.
 * The same accounting tells which segment the listener hears now (`audibleSegment`), so a narration suspended for
 * a restart resumes from the sentence it had reached; `onSegmentStart` reports each segment as the encoder starts
 * on it (segment boundaries only: the queue's persisted position is updated there, never per frame).
 */
import { Readable } from 'node:stream';
import { DiscordPcmConverter } from '../audio/discordPcm.js';
import type { MonoAudio } from '../audio/types.js';

/** A gap shorter than this is frame/timer jitter, not a stall a listener would notice. */
const STALL_MIN_MS = 40;
/**
 * Segments kept after conversion, for ⏮ back: conversion runs at most one segment (plus ~1 s) ahead of what is
 * heard, so four always hold the one being heard and the one before it.
 */
export const HISTORY_SEGMENTS = 4;
/** ⏮ within this long of a segment's start goes to the previous segment, as music players do. */
export const BACK_TO_PREVIOUS_MS = 1_000;

/** A segment on the narration's timeline: where it starts (ms of audio before it) and its audio. */
interface HeldSegment {
  readonly startMs: number;
  /** Its ordinal in the narration's stream of segments (0 = the first one played). */
  readonly ordinal: number;
  readonly audio: MonoAudio;
}

/** Where a replay starts on the narration's timeline, and the audio from there on (what was held and what waits). */
export interface Replay {
  readonly startMs: number;
  /** The ordinal of the first replayed segment, for the new stream's `startOrdinal`. */
  readonly startOrdinal: number;
  readonly segments: readonly MonoAudio[];
}

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
  /** The last segments taken for conversion (oldest first), and where the next one taken will start. */
  private readonly history: HeldSegment[] = [];
  private nextStartMs: number;
  /** Where each received segment ends in the audio (ms, cumulative), for `audibleSegment`. */
  private readonly segmentEndsMs: number[] = [];
  /** Segments handed to the encoder so far. */
  private segmentsStarted = 0;
  /** Called with a segment's ordinal in the narration (see `startOrdinal`) when the encoder starts reading it. */
  onSegmentStart: ((ordinal: number) => void) | undefined;

  /**
   * `now` is injectable so stall accounting can be tested without real time. `startMs`: where this stream's first
   * segment sits on the narration's timeline (0, or later for a stream made by ⏮ back).
   */
  constructor(
    private readonly now: () => number = () => performance.now(),
    readonly startMs = 0,
    /** The ordinal of this stream's first segment in the narration (0, or later for a stream made by ⏮ back). */
    readonly startOrdinal = 0,
  ) {
    // ~1 s of 48 kHz stereo s16 ahead of the encoder is plenty; the rest waits here as mono floats.
    super({ highWaterMark: 192_000 });
    this.nextStartMs = startMs;
  }

  /** `end()` was called: no segment will follow what was pushed. */
  get inputEnded(): boolean {
    return this.ended;
  }

  /**
   * What ⏮ back replays when the listener is at `positionMs` (narration timeline): the segment under it — or the
   * previous one when `positionMs` is within `BACK_TO_PREVIOUS_MS` of its start and that one is still held — and
   * every segment after it. Undefined when nothing has been taken for playback yet.
   */
  replayFrom(positionMs: number): Replay | undefined {
    let at = -1;
    for (let i = this.history.length - 1; i >= 0; i--) {
      if (this.history[i]!.startMs <= positionMs) {
        at = i;
        break;
      }
    }
    if (at < 0) return undefined;
    if (at > 0 && positionMs - this.history[at]!.startMs < BACK_TO_PREVIOUS_MS) at--;
    return { startMs: this.history[at]!.startMs, startOrdinal: this.history[at]!.ordinal, segments: [...this.history.slice(at).map((h) => h.audio), ...this.pending] };
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
    return this.startOrdinal + (index === -1 ? this.segmentEndsMs.length - 1 : index);
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

  /**
   * A destroyed stream (cancel, replaced by ⏮ back) lets go of the audio still waiting at once. What was held for
   * back stays: a stream is destroyed also when it has simply been read to its end, while the encoder still plays
   * its last frames (bounded, and freed with the stream).
   */
  override _destroy(err: Error | null, callback: (err?: Error | null) => void): void {
    this.pending.length = 0;
    callback(err);
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
        this.onSegmentStart?.(this.startOrdinal + this.segmentsStarted++);
        this.hold(next);
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

  /** Keeps a segment taken for conversion (bounded) with its place on the timeline. */
  private hold(audio: MonoAudio): void {
    this.history.push({ startMs: this.nextStartMs, ordinal: this.startOrdinal + this.segmentsStarted - 1, audio });
    this.nextStartMs += (audio.samples.length / audio.sampleRate) * 1000;
    if (this.history.length > HISTORY_SEGMENTS) this.history.shift();
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
