/**
 * A NarrationTrack is one `/narrate` request on its way through a server's queue: what will be played, who asked,
 * how far its synthesis has come, and — once it is over — its outcome (the audio for the attachment, or why not).
 *
 * Like the music-bot example's Track, its audio is produced lazily: creating a track costs nothing; synthesis
 * (GPU time, billed per second) starts only when the GuildSession calls `startSynthesis()` — when the track
 * becomes current, or shortly before (see GuildSession for the prefetch rule). Segments flow from the engine into
 * a PcmStream as they are ready, so the AudioResource made by `createAudioResource()` starts playing after the
 * first segment while later ones are still synthesizing. A failure mid-way ends the stream after what was received:
 * that much still plays, and the outcome reports the rest. Synthesis is paced by the listener (the engine's
 * SYNTH_LOOKAHEAD_SEC): a chunk's job starts only when playback is within that window of it, so a 49-minute chapter
 * holds at most that much audio in the stream and a /stop wastes at most that much. A track nobody plays (a file
 * output, `startSynthesis({ playback: false })`) has no stream and is not paced: its audio goes only to disk.
 *
 * The audio for the attachment is not kept in memory: each segment is written to a NarrationRecording (WAV and
 * Ogg Opus temp files) as it arrives, so finishing costs no long synchronous step. The outcome hands the recording
 * over; whoever reads the outcome disposes it (narrationReply does, once the attachment is read). A cancelled or
 * failed-before-any-audio track disposes its own.
 *
 * While the voice channel is empty the session pauses the track (`pause`/`resume`): no new synthesis job starts,
 * and its stall clock stops with the player. A user's pause (/pause, ⏯) is a different thing: only the player
 * pauses, synthesis goes on up to the look-ahead from where the listener stopped (`setListening`); the track also
 * carries who paused it (`setUserPause`) for the reply.
 *
 * ⏮ back (`rewind`): the play position is what the player has sent of the current resource (its
 * `playbackDuration`, which counts real audio, not stall silence) plus where its stream starts on the narration's
 * timeline. The stream hands over the segment under it (or the previous one, in the first second) and everything
 * after; a new stream and resource start there and the session plays that instead — from memory, no new job.
 *
 * Cost and position, for the ledger and the queue kept across restarts (narrationLedger.ts): `usage()` is what the
 * engine has spent so far (GPU seconds, characters synthesized); 'reached' is emitted with the chunk the listener
 * hears, on segment boundaries only; `reachedChunk` is exact at a cancel (from the stream's play time), so a
 * narration suspended by a shutdown resumes from the sentence it had reached (`TrackRequest.startChunk`).
 *
 * A track is finished when both its synthesis and its playback are over (or when it is cancelled); `finished`
 * then resolves once with the outcome. Listeners: 'change' on every visible change (for the progress reply),
 * 'synthesized' when synthesis has settled (for the queue's prefetch rule), 'finished' with the outcome.
 */
import { EventEmitter } from 'node:events';
import { randomUUID } from 'node:crypto';
import { createAudioResource, StreamType, type AudioResource } from '@discordjs/voice';
import type { Logger } from 'pino';
import { NarrationRecording, type RecordedAudio } from '../audio/narrationRecording.js';
import { isNarratorError } from '../errors.js';
import { silentLogger } from '../log.js';
import type { NarrationProgress, NarrationRequest, NarrationSummary, Segment } from '../orchestrator.js';
import type { CancelReason } from '../../messages.js';
import { PcmStream, type StallStats } from './pcmStream.js';

/** What a track needs from the engine: the Orchestrator satisfies it (tests may pass their own). */
export interface NarrationSource {
  narrate(request: NarrationRequest): NarrationHandle;
}

export interface NarrationHandle {
  segments(): AsyncGenerator<Segment, NarrationSummary, undefined>;
  cancel(reason?: unknown): void;
  /** Re-bases the chunks' deadlines on when playback really starts (performance.now() time). */
  setPlaybackStart?(atMs: number): void;
  /** When this narration's audio is expected to end (performance.now() time). */
  estimatedEndAt?(): number;
  /** What this narration has spent so far (for the ledger; a cancelled or failed one settles with it). */
  usage?(): NarrationUsage;
  /** The listener's clock stopped (a user's pause) or runs again: the synthesis look-ahead waits with it. */
  setListening?(listening: boolean): void;
  /** No queued chunk starts a job until resumed (jobs already running finish). */
  pauseSynthesis?(): void;
  resumeSynthesis?(): void;
}

export interface NarrationUsage {
  readonly charsSynthesized: number;
  readonly gpuSeconds: number;
  readonly cacheHits: number;
  readonly chunksDone: number;
}

/** How synthesis starts: a prefetch runs at low priority, with deadlines counted from the current one's end. */
export interface StartOptions {
  readonly lowPriority?: boolean;
  readonly playbackStartAt?: number;
  /**
   * `false`: nobody will play it (a file or voice-message output): its segments go only to the recording — no
   * stream holds audio nobody reads — and its synthesis is not paced by a listener. Default true.
   */
  readonly playback?: boolean;
}

export interface TrackRequest {
  readonly text: string;
  readonly voice: string;
  readonly speed: number;
  /** Chunks in the plan (from `orchestrator.plan`), for the progress bar before synthesis starts. */
  readonly chunksTotal: number;
  readonly requesterId: string;
  readonly requesterName: string;
  readonly maxTextChars?: number;
  readonly resolveMention?: NarrationRequest['resolveMention'];
  /** The server's pronunciation dictionary, applied while cleaning (as when it was planned). */
  readonly dictionary?: NarrationRequest['dictionary'];
  /** The server's voice-tag aliases, so the narration plans as it was admitted (`[minh]` → its voice). */
  readonly aliases?: NarrationRequest['aliases'];
  /** Every voice the plan uses, in order (`plan.voices`): what the reply shows for a multi-voice script. */
  readonly voices?: readonly string[];
  /** Resume after a restart: synthesis and playback start at this chunk of the plan (the progress shows the earlier ones as done). */
  readonly startChunk?: number;
  /** What the reply quotes instead of the text (a file's name: its whole text would say nothing useful). */
  readonly quote?: string;
  /** A line the reply shows under its status: where the text came from (a link to the message read). */
  readonly sourceLink?: string;
}

export type TrackPhase = 'queued' | 'synthesizing' | 'playing' | 'finished';

export type TrackOutcome =
  /**
   * Everything was synthesized; `played` tells whether it reached the voice channel. `audio` is the recording
   * (missing only if it could not be written); the reader of the outcome disposes it.
   */
  | {
      readonly kind: 'completed';
      readonly audio?: RecordedAudio;
      readonly summary: NarrationSummary;
      readonly played: boolean;
      readonly stalls: StallStats;
    }
  /** Synthesis failed after `chunksDone` of `chunksTotal` segments; `audio` holds those (if any). */
  | {
      readonly kind: 'failed';
      readonly error: unknown;
      readonly audio?: RecordedAudio;
      readonly chunksDone: number;
      readonly chunksTotal: number;
      readonly played: boolean;
    }
  | { readonly kind: 'cancelled'; readonly reason: CancelReason; readonly by?: string };

export interface TrackSnapshot {
  readonly id: string;
  readonly phase: TrackPhase;
  readonly requesterId: string;
  readonly text: string;
  readonly voice: string;
  readonly speed: number;
  readonly chunksReady: number;
  readonly chunksTotal: number;
  readonly synthesisStarted: boolean;
  readonly queuePosition?: number;
  readonly waiting?: 'cold_start' | 'no_workers' | 'queue';
  readonly retrying?: string;
  readonly failedMidway?: unknown;
  /** Paused because nobody is left in the voice channel. */
  readonly paused?: boolean;
  /** Paused by a user (/pause, ⏯): who, as a mention. */
  readonly pausedBy?: string;
}

interface TrackEvents {
  change: [];
  /** The listener has reached this chunk of the plan (emitted on segment boundaries). */
  reached: [number];
  synthesized: [];
  finished: [TrackOutcome];
}

export class NarrationTrack extends EventEmitter<TrackEvents> {
  readonly id = randomUUID();
  readonly finished: Promise<TrackOutcome>;
  private resolveFinished!: (outcome: TrackOutcome) => void;
  private phase: TrackPhase = 'queued';
  private narration: NarrationHandle | undefined;
  private stream: PcmStream | undefined;
  /** What the player plays now (replaced by `rewind`), for the play position. */
  private resource: AudioResource<NarrationTrack> | undefined;
  /** Stalls of the streams replaced by `rewind`. */
  private stallsBefore: StallStats = { count: 0, seconds: 0 };
  private pausedBy: string | undefined;
  private chunksReady = 0;
  private segmentsReceived = 0;
  private recording: NarrationRecording | undefined;
  private paused = false;
  private waiting: TrackSnapshot['waiting'];
  private retrying: string | undefined;
  private queuePosition: number | undefined;
  private synthesis: { ok: true; summary: NarrationSummary } | { ok: false; error: unknown } | undefined;
  private playbackOver = false;
  private finalizing = false;
  private played = false;
  private outcomeValue: TrackOutcome | undefined;
  private reached: number;
  /**
   * Set once the narration is stored in the persisted queue: a shutdown then suspends it (it continues after the
   * restart) rather than cancelling it, and its reply says so.
   */
  resumable = false;

  constructor(
    readonly request: TrackRequest,
    private readonly source: NarrationSource,
    private readonly log: Logger = silentLogger,
  ) {
    super();
    this.finished = new Promise((resolve) => (this.resolveFinished = resolve));
    this.reached = request.startChunk ?? 0;
    this.chunksReady = this.reached;
  }

  /** The chunk of the plan the listener had reached (exact after a cancel; else as of the last segment boundary). */
  get reachedChunk(): number {
    return this.reached;
  }

  /** What the engine has spent on this narration so far (zeros before synthesis started). */
  usage(): NarrationUsage {
    return this.narration?.usage?.() ?? { charsSynthesized: 0, gpuSeconds: 0, cacheHits: 0, chunksDone: 0 };
  }

  get outcome(): TrackOutcome | undefined {
    return this.outcomeValue;
  }

  get isFinished(): boolean {
    return this.outcomeValue !== undefined;
  }

  get synthesisStarted(): boolean {
    return this.narration !== undefined;
  }

  get synthesisSettled(): boolean {
    return this.synthesis !== undefined;
  }

  /** False once synthesis has failed before producing any audio: there is nothing to play. */
  get hasAudioToPlay(): boolean {
    return !(this.synthesis && this.segmentsReceived === 0);
  }

  /** The voice(s) to show: "narrator, minh_voice, lan_voice" for a script read by several. */
  get voiceLabel(): string {
    return this.request.voices?.length ? this.request.voices.join(', ') : this.request.voice;
  }

  snapshot(): TrackSnapshot {
    return {
      id: this.id,
      phase: this.phase,
      requesterId: this.request.requesterId,
      text: this.request.text,
      voice: this.voiceLabel,
      speed: this.request.speed,
      chunksReady: this.chunksReady,
      chunksTotal: this.request.chunksTotal,
      synthesisStarted: this.synthesisStarted,
      queuePosition: this.phase === 'queued' ? this.queuePosition : undefined,
      waiting: this.waiting,
      retrying: this.retrying,
      failedMidway: this.synthesis && !this.synthesis.ok && this.segmentsReceived > 0 ? this.synthesis.error : undefined,
      paused: this.paused || undefined,
      pausedBy: this.pausedBy,
    };
  }

  /** Place in the server's queue (1 = next), whatever the synthesis phase (a prefetch is still waiting); undefined once current. */
  get queuePlace(): number | undefined {
    return this.queuePosition;
  }

  /** Set by the session whenever the queue moves (1 = next; undefined once it is the current one). */
  setQueuePosition(position: number | undefined): void {
    if (this.queuePosition === position) return;
    this.queuePosition = position;
    if (this.phase === 'queued') this.emit('change');
  }

  /** Stalls so far (silence inserted because the next segment was not ready). */
  get stalls(): StallStats {
    const now = this.stream?.stalls ?? { count: 0, seconds: 0 };
    return { count: this.stallsBefore.count + now.count, seconds: this.stallsBefore.seconds + now.seconds };
  }

  /** Where the listener is on the narration's timeline (ms of its audio heard so far; a replay moves it back). */
  get positionMs(): number {
    return (this.stream?.startMs ?? 0) + (this.resource?.playbackDuration ?? 0);
  }

  /** When this narration's audio is expected to end (performance.now() time); now if not started. */
  estimatedEndAt(): number {
    return this.narration?.estimatedEndAt?.() ?? performance.now();
  }

  /** It became the current narration (a prefetched one): its deadlines now count from now. */
  setPlaybackStart(atMs: number): void {
    this.narration?.setPlaybackStart?.(atMs);
  }

  /** Nobody is listening: no new synthesis job starts until `resume()` (the session pauses the player). */
  pause(): void {
    if (this.paused || this.outcomeValue) return;
    this.paused = true;
    this.narration?.pauseSynthesis?.();
    this.emit('change');
  }

  resume(): void {
    if (!this.paused) return;
    this.paused = false;
    // Nothing was heard meanwhile: the deadlines count from where the listener is, not from before the pause.
    if (this.pausedBy === undefined) this.reanchor();
    this.narration?.resumeSynthesis?.();
    if (!this.outcomeValue) this.emit('change');
  }

  /**
   * A user paused the player (`by`, a mention) or resumed it (undefined). Synthesis is not touched. On resume the
   * chunks' deadlines count again from where the listener is, so a long pause does not make them look overdue.
   */
  setUserPause(by: string | undefined): void {
    if (this.pausedBy === by || this.outcomeValue) return;
    const wasPaused = this.pausedBy !== undefined;
    this.pausedBy = by;
    if (by === undefined) {
      this.reanchor();
      this.narration?.setListening?.(true);
    } else if (!wasPaused) {
      // Synthesis goes on, but only up to the look-ahead from where the listener stopped.
      this.narration?.setListening?.(false);
    }
    this.emit('change');
  }

  /**
   * ⏮ back: a new resource that starts at the segment being heard (or the previous one in its first second), made
   * from audio in memory. The caller plays it in place of the current one (the player then destroys the old
   * stream). Undefined when there is nothing to go back to (nothing played yet, or playback is over).
   */
  rewind(): AudioResource<NarrationTrack> | undefined {
    const old = this.stream;
    if (this.outcomeValue || this.playbackOver || !old || !this.resource) return undefined;
    // At the very start (nothing heard, or just replayed from the beginning): there is nothing to go back to.
    if (this.positionMs === 0) return undefined;
    const replay = old.replayFrom(this.positionMs);
    if (!replay) return undefined;
    old.setPlaying(false);
    const oldStalls = old.stalls;
    this.stallsBefore = { count: this.stallsBefore.count + oldStalls.count, seconds: this.stallsBefore.seconds + oldStalls.seconds };
    const stream = this.newStream(replay.startMs, replay.startOrdinal);
    for (const segment of replay.segments) stream.pushSegment(segment);
    if (old.inputEnded) stream.end();
    this.stream = stream;
    this.resource = createAudioResource(stream, { inputType: StreamType.Raw, metadata: this });
    this.reanchor();
    this.log.info({ track: this.id, fromMs: Math.round(replay.startMs) }, 'replaying from an earlier segment');
    return this.resource;
  }

  /** Chunk deadlines count from where the listener is now (after a pause or a replay). */
  private reanchor(): void {
    if (!this.played || this.synthesis) return;
    this.narration?.setPlaybackStart?.(performance.now() - this.positionMs);
  }

  private newStream(startMs: number, startOrdinal = 0): PcmStream {
    const stream = new PcmStream(undefined, startMs, startOrdinal);
    // A destroyed stream (cancel, player error, replaced by a replay) must not surface as an unhandled 'error'.
    stream.on('error', (err) => this.log.debug({ track: this.id, err: String(err) }, 'pcm stream error'));
    // Segment boundaries move the queue's persisted position (what a restart resumes from).
    stream.onSegmentStart = () => this.updateReached();
    return stream;
  }

  /** The player is (not) consuming this track's audio in real time: drives the stall accounting. */
  setPlaying(playing: boolean): void {
    this.stream?.setPlaying(playing);
  }

  /**
   * Starts synthesizing (idempotent). Segments are recorded for the attachment and, unless `playback: false`,
   * queued for playback — paced by the listener (the engine's synthesis look-ahead).
   */
  startSynthesis(options: StartOptions = {}): void {
    if (this.narration || this.outcomeValue) return;
    const playback = options.playback !== false;
    this.stream = playback ? this.newStream(0) : undefined;
    this.recording = new NarrationRecording();
    try {
      this.narration = this.source.narrate({
        text: this.request.text,
        voice: this.request.voice,
        speed: this.request.speed,
        maxTextChars: this.request.maxTextChars,
        resolveMention: this.request.resolveMention,
        ...(this.request.dictionary ? { dictionary: this.request.dictionary } : {}),
        ...(this.request.aliases ? { aliases: this.request.aliases } : {}),
        ...(this.request.startChunk ? { startChunk: this.request.startChunk } : {}),
        onProgress: (event) => this.onProgress(event),
        lowPriority: options.lowPriority,
        playbackStartAt: options.playbackStartAt,
        paced: playback,
      });
      if (this.paused) this.narration.pauseSynthesis?.();
    } catch (err) {
      // plan() already passed when the track was made, so this is unexpected; report it like any failure.
      this.narration = { segments: emptySegments, cancel: () => undefined };
      this.settleSynthesis({ ok: false, error: err });
      return;
    }
    if (this.phase === 'queued') this.phase = 'synthesizing';
    this.emit('change');
    void this.pump(this.narration);
  }

  /**
   * The audio for the player (starts synthesis if needed). Raw 48 kHz stereo PCM → the voice library's Opus
   * encoder (@discordjs/opus, or opusscript); no FFmpeg. The resource's metadata is this track.
   */
  createAudioResource(): AudioResource<NarrationTrack> {
    this.startSynthesis();
    if (!this.stream) throw new Error('This narration was started without playback (a file output): it has no audio stream.');
    if (this.phase === 'queued') this.phase = 'synthesizing';
    this.resource = createAudioResource(this.stream, { inputType: StreamType.Raw, metadata: this });
    return this.resource;
  }

  /** The player started sending this track's audio. */
  playbackStarted(): void {
    if (this.outcomeValue || this.segmentsReceived === 0) return;
    if (!this.played) this.narration?.setPlaybackStart?.(performance.now());
    this.played = true;
    if (this.phase !== 'playing') {
      this.phase = 'playing';
      this.emit('change');
    }
  }

  /** The player is done with this track (played to the end, or gave up on it). */
  playbackEnded(): void {
    if (this.playbackOver) return;
    this.playbackOver = true;
    this.maybeFinish();
  }

  /** Stops synthesis (GPU jobs included) and playback; the track finishes at once as cancelled. */
  cancel(reason: CancelReason, by?: string): void {
    if (this.outcomeValue) return;
    this.updateReached(); // exact, from the play time: where a suspended narration resumes
    this.narration?.cancel();
    this.stream?.destroy();
    void this.recording?.dispose();
    this.finish({ kind: 'cancelled', reason, by });
  }

  /** The chunk heard now, from the stream's play time; emitted when it moved on. */
  private updateReached(): void {
    const ordinal = this.stream?.audibleSegment() ?? -1;
    if (ordinal < 0) return;
    const chunk = (this.request.startChunk ?? 0) + ordinal;
    if (chunk === this.reached) return;
    this.reached = chunk;
    this.emit('reached', chunk);
  }

  private onProgress(event: NarrationProgress): void {
    if (this.outcomeValue) return;
    if (event.type === 'chunk_ready') {
      this.chunksReady = Math.max(this.chunksReady, event.done);
      this.waiting = undefined;
      this.retrying = undefined;
    } else {
      const e = event.event;
      if (e.type === 'waiting') this.waiting = e.reason;
      else if (e.type === 'retry') this.retrying = e.reason;
      else if (e.type === 'started') this.waiting = undefined;
      else return;
    }
    this.emit('change');
  }

  /** Moves segments from the engine into the stream as they come, and keeps them for the attachment. */
  private async pump(narration: NarrationHandle): Promise<void> {
    const iterator = narration.segments();
    try {
      for (;;) {
        const next = await iterator.next();
        if (this.outcomeValue) return; // cancelled meanwhile: the narration has been cancelled too
        if (next.done) {
          this.settleSynthesis({ ok: true, summary: next.value });
          return;
        }
        const { audio } = next.value;
        this.recording?.append(audio);
        this.segmentsReceived++;
        this.stream?.pushSegment(audio);
        if (this.segmentsReceived === 1) this.emit('change');
      }
    } catch (err) {
      if (this.outcomeValue) return;
      if (!isNarratorError(err, 'aborted')) {
        this.log.warn({ track: this.id, segments: this.segmentsReceived, err: describe(err) }, 'narration failed');
      }
      this.settleSynthesis({ ok: false, error: err });
    }
  }

  private settleSynthesis(result: NonNullable<NarrationTrack['synthesis']>): void {
    this.synthesis = result;
    this.waiting = undefined;
    this.retrying = undefined;
    // End of input: the stream ends after what was received, so the player plays that much and then goes idle.
    this.stream?.end();
    this.emit('change');
    this.emit('synthesized');
    this.maybeFinish();
  }

  private maybeFinish(): void {
    if (this.outcomeValue || this.finalizing || !this.synthesis || !this.playbackOver) return;
    this.finalizing = true;
    void this.finalize(this.synthesis);
  }

  /** Completes the recording (queued writes, header patch: no long synchronous step), then reports the outcome. */
  private async finalize(synthesis: NonNullable<NarrationTrack['synthesis']>): Promise<void> {
    const recording = this.recording!;
    let audio: RecordedAudio | undefined;
    if (this.segmentsReceived > 0) {
      audio = await recording.finish().catch((err: unknown) => {
        this.log.warn({ track: this.id, err: String(err) }, 'could not write the narration audio');
        return undefined;
      });
    } else {
      await recording.dispose();
    }
    if (this.outcomeValue) {
      // Cancelled while the files were being completed: nobody will read them.
      await audio?.dispose();
      return;
    }
    const stalls = this.stalls;
    this.log.info(
      { track: this.id, ok: synthesis.ok, segments: this.segmentsReceived, durationSec: audio?.durationSec, stalls: stalls.count, stallSec: Number(stalls.seconds.toFixed(3)) },
      'narration finished',
    );
    if (synthesis.ok) {
      this.finish({ kind: 'completed', audio, summary: synthesis.summary, played: this.played, stalls });
    } else {
      this.finish({
        kind: 'failed',
        error: synthesis.error,
        audio,
        chunksDone: (this.request.startChunk ?? 0) + this.segmentsReceived,
        chunksTotal: this.request.chunksTotal,
        played: this.played,
      });
    }
  }

  private finish(outcome: TrackOutcome): void {
    this.outcomeValue = outcome;
    this.phase = 'finished';
    this.resolveFinished(outcome);
    this.emit('finished', outcome);
  }
}

async function* emptySegments(): AsyncGenerator<Segment, NarrationSummary, undefined> {
  return { chunks: 0, sampleRate: 24_000, durationSec: 0, firstAudioMs: 0, totalMs: 0, retries: 0, cacheHits: 0, gpuSeconds: 0, charsSynthesized: 0, spokenChars: 0 };
}

function describe(err: unknown): unknown {
  return isNarratorError(err) ? { kind: err.kind, code: err.code, message: err.message, detail: err.detail } : String(err);
}
