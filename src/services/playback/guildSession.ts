/**
 * A GuildSession is one server's playback: one voice connection, one audio player, the current narration and the
 * queue behind it. Shaped after the @discordjs/voice music-bot example's subscription: state changes are driven by
 * the library's own `stateChange` events, and the connection recovers the way the discord.js guide recommends.
 *
 * When synthesis starts (the GPU is billed per second, and users want it fast): the current narration synthesizes
 * as soon as it becomes current; the NEXT one in the queue starts only once the current one is playing and has
 * finished synthesizing — at low priority (it must never make the endpoint start workers on its own), its
 * deadlines counted from the current one's expected end. It then has the whole remaining playing time to get ready — usually enough for its first
 * segment, so the gap between two narrations is short — while it never competes with the current one for workers
 * (the fair scheduler would otherwise split the slots between them and could stall the one being heard). Nothing
 * further back in the queue costs anything: a `/stop` or `/leave` wastes at most one prefetched narration.
 *
 * Audio for nobody costs GPU money and plays to an empty room: the owner reports how many members (bots excluded)
 * are in the bot's channel (`setListenerCount`). When it drops to 0 the player pauses at once and no track starts
 * a new job; if nobody comes back within `emptyLeaveMs` the session ends ('empty'), else everything resumes where
 * it paused.
 *
 * A user may pause too (/pause, ⏯ — `pause`/`resume`): only the player pauses (synthesis goes on up to the
 * look-ahead, so what comes next is ready when they resume). The two pauses have different reasons and are kept apart: a user's resume does not
 * unpause an empty room, and a member coming back does not undo a user's pause; the player plays only when neither
 * holds it. A user's pause belongs to the current narration (skip/stop/the next narration clear it). A paused
 * narration is not idle (the idle timer never runs while something is current), but it may not hold the channel
 * forever: after `pauseLeaveMs` still paused, the session ends ('paused'). ⏮ back (`back`) replays the segment being
 * heard, or the previous one in its first second, from memory (see NarrationTrack.rewind).
 *
 * The session ends (voice connection destroyed, every track cancelled with a reason the users are told, `onEnd`
 * called so the owner forgets it) on `/leave`, on shutdown, after `idleLeaveMs` with nothing to play, after
 * `emptyLeaveMs` with nobody listening, after `pauseLeaveMs` paused by a user, or when the connection is lost for good.
 */
import {
  AudioPlayerStatus,
  createAudioPlayer,
  entersState,
  VoiceConnectionDisconnectReason,
  VoiceConnectionStatus,
  type AudioPlayer,
  type AudioPlayerState,
  type VoiceConnection,
  type VoiceConnectionState,
} from '@discordjs/voice';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Logger } from 'pino';
import { NarratorError } from '../errors.js';
import { silentLogger } from '../log.js';
import type { CancelReason } from '../../messages.js';
import { NarrationTrack } from './narrationTrack.js';

export interface GuildSessionOptions {
  readonly guildId: string;
  readonly connection: VoiceConnection;
  /** Leave after this long with nothing playing or queued (0 = stay). */
  readonly idleLeaveMs: number;
  /** Leave after this long with nobody (but bots) in the channel; paused meanwhile (0 = leave at once). */
  readonly emptyLeaveMs?: number;
  /** Leave after this long paused by a user (0 = no limit; default 15 min). */
  readonly pauseLeaveMs?: number;
  /** Narrations that may wait behind the current one. */
  readonly maxQueue: number;
  readonly logger?: Logger;
  /** How long a dropped connection may take to start reconnecting before the session gives up (guide: 5 s). */
  readonly reconnectGraceMs?: number;
  /** How long signalling/connecting may take before the session gives up (guide: 20 s). */
  readonly readyTimeoutMs?: number;
  /** Called once when the session has ended. */
  readonly onEnd?: (session: GuildSession) => void;
  /** Defaults to a new player that tolerates gaps between segments (see `createNarrationPlayer`). */
  readonly player?: AudioPlayer;
}

/**
 * The player sends silence while the next segment is still being synthesized instead of stopping: by default
 * @discordjs/voice stops a resource after 5 frames (100 ms) without data, which would cut a narration at the first
 * chunk that is slower to synthesize than the one before it took to play. The stream itself decides when it ends.
 */
export function createNarrationPlayer(): AudioPlayer {
  return createAudioPlayer({ behaviors: { maxMissedFrames: Number.POSITIVE_INFINITY } });
}

export class GuildSession {
  readonly guildId: string;
  readonly connection: VoiceConnection;
  readonly player: AudioPlayer;
  private currentTrack: NarrationTrack | undefined;
  private readonly queue: NarrationTrack[] = [];
  private idleTimer: NodeJS.Timeout | undefined;
  private emptyTimer: NodeJS.Timeout | undefined;
  /** Nobody is listening: playback and synthesis are paused. */
  private empty = false;
  /** A user paused this narration's playback (cleared when another narration becomes current). */
  private userPause: { readonly track: NarrationTrack; readonly by: string } | undefined;
  private pauseTimer: NodeJS.Timeout | undefined;
  private readyLock = false;
  private wasReady = false;
  private ended = false;
  /** Aborted when the session ends, so no reconnect wait outlives it. */
  private readonly lifetime = new AbortController();
  private readonly log: Logger;

  constructor(private readonly options: GuildSessionOptions) {
    this.guildId = options.guildId;
    this.connection = options.connection;
    this.player = options.player ?? createNarrationPlayer();
    this.log = (options.logger ?? silentLogger).child({ guild: options.guildId });

    this.connection.on('stateChange', (_old, state) => void this.onConnectionState(state));
    this.connection.on('error', (err) => this.log.warn({ err: String(err) }, 'voice connection error'));
    this.player.on('stateChange', (old, state) => this.onPlayerState(old, state));
    // A stream or encoder error ends the resource; the player goes idle by itself and the queue moves on.
    this.player.on('error', (err) => this.log.warn({ err: String(err) }, 'audio player error'));
    this.connection.subscribe(this.player);

    // joinVoiceChannel returns a connection that is already signalling: its first state change happened before
    // this session could listen, so wait for Ready here as the handler below would have.
    if (this.connection.state.status === VoiceConnectionStatus.Ready) this.wasReady = true;
    else void this.awaitReady();
    this.armIdleTimer();
  }

  /** The voice channel the bot is in (it follows a move by a moderator). */
  get channelId(): string | null {
    return this.connection.joinConfig.channelId;
  }

  get current(): NarrationTrack | undefined {
    return this.currentTrack;
  }

  /** Narrations waiting behind the current one, next first. */
  get waiting(): readonly NarrationTrack[] {
    return this.queue;
  }

  /** Something is playing or waiting. */
  get busy(): boolean {
    return this.currentTrack !== undefined || this.queue.length > 0;
  }

  get isQueueFull(): boolean {
    return this.queue.length >= this.options.maxQueue;
  }

  get hasEnded(): boolean {
    return this.ended;
  }

  /** Paused because nobody is in the channel. */
  get isPausedForEmpty(): boolean {
    return this.empty;
  }

  /** The current narration is paused by a user. */
  get isPausedByUser(): boolean {
    return this.userPause !== undefined && this.userPause.track === this.currentTrack;
  }

  /** The current or a waiting narration with this id. */
  find(trackId: string): NarrationTrack | undefined {
    return this.tracks().find((t) => t.id === trackId);
  }

  /**
   * A user pauses the current narration's playback (`by`, a mention, is shown in its reply); synthesis goes on.
   * While paused it is not idle, but after `pauseLeaveMs` the session ends.
   */
  pause(by: string): 'paused' | 'already_paused' | 'nothing_playing' {
    const track = this.currentTrack;
    if (this.ended || !track) return 'nothing_playing';
    if (this.isPausedByUser) return 'already_paused';
    this.userPause = { track, by };
    // Not playing yet (waiting for its first audio): onPlayerState holds it when it starts.
    this.player.pause(true);
    track.setUserPause(by);
    const ms = this.options.pauseLeaveMs ?? 15 * 60_000;
    if (ms > 0) {
      this.pauseTimer = setTimeout(() => {
        this.pauseTimer = undefined;
        if (this.isPausedByUser) this.end('paused');
      }, ms);
      this.pauseTimer.unref();
    }
    this.log.info({ track: track.id }, 'paused by a user');
    return 'paused';
  }

  /** Undoes a user's pause. Playback goes on at once unless the room is empty (then when someone comes back). */
  resume(): 'resumed' | 'not_paused' {
    if (this.ended || !this.isPausedByUser) return 'not_paused';
    this.clearUserPause();
    if (!this.empty) this.player.unpause();
    this.log.info({ waitingForListeners: this.empty }, 'resumed by a user');
    return 'resumed';
  }

  /**
   * ⏮ back: replays the segment being heard, or the previous one when pressed in its first second, from memory
   * (no new job). A paused narration stays paused (at the new position).
   */
  back(): 'replayed' | 'nothing' {
    const track = this.currentTrack;
    const resource = this.ended ? undefined : track?.rewind();
    if (!resource) return 'nothing';
    try {
      this.player.play(resource);
    } catch (err) {
      this.log.warn({ err: String(err) }, 'could not replay');
      return 'nothing';
    }
    return 'replayed';
  }

  /** Cancels one narration: the current one (as skip does) or a waiting one (taken out of the queue). */
  cancelTrack(track: NarrationTrack, reason: CancelReason, by?: string): boolean {
    if (this.currentTrack === track) return this.skip(by, reason) !== undefined;
    const at = this.queue.indexOf(track);
    if (at < 0) return false;
    this.queue.splice(at, 1);
    track.cancel(reason, by);
    this.updatePositions();
    this.maybePrefetch();
    return true;
  }

  /**
   * How many members (bots excluded) are in the bot's voice channel now. 0 pauses playback and synthesis and
   * starts the `emptyLeaveMs` countdown; anything else cancels it and resumes where it paused. Idempotent.
   */
  setListenerCount(count: number): void {
    if (this.ended) return;
    const empty = count === 0;
    if (empty === this.empty) return;
    this.empty = empty;
    if (empty) {
      this.log.info({ emptyLeaveMs: this.options.emptyLeaveMs ?? 60_000 }, 'voice channel empty: pausing');
      // Silence padding (5 frames = 100 ms) ends the Opus stream cleanly; nothing is sent after it.
      this.player.pause(true);
      for (const track of this.tracks()) track.pause();
      const ms = this.options.emptyLeaveMs ?? 60_000;
      if (ms <= 0) {
        this.end('empty');
        return;
      }
      this.emptyTimer = setTimeout(() => {
        this.emptyTimer = undefined;
        if (this.empty) this.end('empty');
      }, ms);
      this.emptyTimer.unref();
    } else {
      this.log.info('a listener is back: resuming');
      clearTimeout(this.emptyTimer);
      this.emptyTimer = undefined;
      for (const track of this.tracks()) track.resume();
      // A user's pause is theirs to undo.
      if (!this.isPausedByUser) this.player.unpause();
    }
  }

  /**
   * Cancels this member's own narrations (current and queued), wherever the member is: the requester may always
   * stop what they asked for. Returns how many.
   */
  stopRequester(userId: string, by?: string): number {
    const mine = this.queue.filter((t) => t.request.requesterId === userId);
    for (const track of mine) {
      this.queue.splice(this.queue.indexOf(track), 1);
      track.cancel('stopped', by);
    }
    this.updatePositions();
    let count = mine.length;
    if (this.currentTrack?.request.requesterId === userId) {
      this.skip(by, 'stopped');
      count++;
    }
    if (!this.busy) this.armIdleTimer();
    return count;
  }
  /**
   * Adds a narration. Returns 0 when it plays at once, else its place in the queue (1 = next).
   * Throws NarratorError('user','queue_full') when `maxQueue` narrations are already waiting.
   */
  enqueue(track: NarrationTrack): number {
    if (this.ended) throw new NarratorError('transient', 'voice_connect_failed', 'The voice session has ended.');
    if (this.isQueueFull) {
      throw new NarratorError('user', 'queue_full', `The queue is full (${this.options.maxQueue} narrations waiting).`);
    }
    this.disarmIdleTimer();
    this.queue.push(track);
    this.updatePositions();
    this.processQueue();
    return this.currentTrack === track ? 0 : this.queue.indexOf(track) + 1;
  }

  /** Cancels the current narration (synthesis and playback) and moves on. Returns it, or undefined if none. */
  skip(by?: string, reason: CancelReason = 'skipped'): NarrationTrack | undefined {
    const track = this.currentTrack;
    if (!track) return undefined;
    track.cancel(reason, by);
    // Force: the cancelled stream must not even play its silence padding.
    this.player.stop(true);
    if (this.currentTrack === track) {
      // The player was not playing it (e.g. still idle between states): move on by hand.
      this.currentTrack = undefined;
      this.processQueue();
    }
    return track;
  }

  /** Cancels the current narration and everything queued; the session stays in the channel. Returns how many. */
  stop(reason: CancelReason = 'stopped', by?: string): number {
    const tracks = [...(this.currentTrack ? [this.currentTrack] : []), ...this.queue.splice(0)];
    // Waiting ones first: cancelling the current one makes the player go idle, which would start the next.
    for (const track of tracks.slice(1)) track.cancel(reason, by);
    tracks[0]?.cancel(reason, by);
    this.currentTrack = undefined;
    this.clearUserPause();
    this.player.stop(true);
    if (!this.ended) this.armIdleTimer();
    return tracks.length;
  }

  /** Ends the session: cancels everything with `reason`, leaves the voice channel. Idempotent. */
  end(reason: CancelReason, by?: string): void {
    if (this.ended) return;
    this.ended = true;
    this.log.info({ reason }, 'voice session ending');
    this.disarmIdleTimer();
    clearTimeout(this.emptyTimer);
    this.emptyTimer = undefined;
    this.clearUserPause();
    this.lifetime.abort();
    this.stop(reason, by);
    if (this.connection.state.status !== VoiceConnectionStatus.Destroyed) this.connection.destroy();
    this.options.onEnd?.(this);
  }

  private processQueue(): void {
    if (this.ended || this.currentTrack) return;
    const next = this.queue.shift();
    this.updatePositions();
    if (!next) {
      this.armIdleTimer();
      return;
    }
    this.disarmIdleTimer();
    // A user's pause was for the narration before this one.
    this.clearUserPause();
    this.currentTrack = next;
    next.setQueuePosition(undefined); // no longer waiting (its persisted position becomes 0: playing)
    // A prefetched narration's deadlines counted from the previous one's expected end: it is needed now.
    if (next.synthesisStarted) next.setPlaybackStart(performance.now());
    if (this.empty) next.pause();
    next.startSynthesis();
    if (!next.hasAudioToPlay) {
      // A prefetched narration that failed before producing any audio: report it, take the next.
      next.playbackEnded();
      this.currentTrack = undefined;
      this.processQueue();
      return;
    }
    next.once('synthesized', () => this.maybePrefetch());
    try {
      this.player.play(next.createAudioResource());
    } catch (err) {
      this.log.warn({ err: String(err) }, 'could not play a narration');
      next.playbackEnded();
      this.currentTrack = undefined;
      this.processQueue();
    }
  }

  /** Starts synthesizing the next narration once the current one is playing and fully synthesized. */
  private maybePrefetch(): void {
    const current = this.currentTrack;
    const next = this.queue[0];
    if (!current || !next || next.synthesisStarted) return;
    if (current.synthesisSettled && current.snapshot().phase === 'playing') {
      if (this.empty) next.pause();
      next.startSynthesis({ lowPriority: true, playbackStartAt: current.estimatedEndAt() });
    }
  }

  private onPlayerState(old: AudioPlayerState, state: AudioPlayerState): void {
    // The stall clock of a track runs only while the player really consumes its audio.
    const playing = state.status === AudioPlayerStatus.Playing;
    if (old.status !== AudioPlayerStatus.Idle && old.resource.metadata instanceof NarrationTrack) old.resource.metadata.setPlaying(false);
    if (state.status !== AudioPlayerStatus.Idle && state.resource.metadata instanceof NarrationTrack) state.resource.metadata.setPlaying(playing);
    if (state.status === AudioPlayerStatus.Idle && old.status !== AudioPlayerStatus.Idle) {
      // The resource ended (or was stopped): that narration's playback is over; play the next one.
      const track = old.resource.metadata;
      if (track instanceof NarrationTrack) {
        track.playbackEnded();
        if (this.currentTrack === track) this.currentTrack = undefined;
      }
      this.processQueue();
    } else if (state.status === AudioPlayerStatus.Playing && old.status === AudioPlayerStatus.Buffering) {
      const track = state.resource.metadata;
      if (track instanceof NarrationTrack) track.playbackStarted();
      this.maybePrefetch();
    }
    if (playing && (this.empty || this.isPausedByUser)) {
      // Nobody listens, or a user paused it (it started, came back from an auto-pause, or a replay began): hold it.
      this.player.pause(true);
    }
  }

  private async onConnectionState(state: VoiceConnectionState): Promise<void> {
    if (this.ended) return;
    if (state.status === VoiceConnectionStatus.Disconnected) {
      const grace = this.options.reconnectGraceMs ?? 5_000;
      if (state.reason === VoiceConnectionDisconnectReason.WebSocketClose && state.closeCode === 4014) {
        // 4014: the bot was moved to another channel, or kicked. When moved, Discord starts a new connection
        // within a few seconds; when kicked, nothing follows and the session ends.
        try {
          await entersState(this.connection, VoiceConnectionStatus.Connecting, this.waitSignal(grace));
        } catch {
          this.end('disconnected');
        }
      } else if (this.connection.rejoinAttempts < 5) {
        // Any other drop may be recoverable: rejoin, waiting a little longer each time.
        try {
          await sleep((this.connection.rejoinAttempts + 1) * grace, undefined, { signal: this.lifetime.signal });
        } catch {
          return; // the session ended meanwhile
        }
        if (this.connection.state.status === VoiceConnectionStatus.Disconnected) this.connection.rejoin();
      } else {
        this.end('disconnected');
      }
    } else if (state.status === VoiceConnectionStatus.Destroyed) {
      // Someone destroyed the connection (the library, or our own `end`): nothing can play any more.
      this.end(this.wasReady ? 'disconnected' : 'connect_failed');
    } else if (state.status === VoiceConnectionStatus.Ready) {
      this.wasReady = true;
    } else if (state.status === VoiceConnectionStatus.Connecting || state.status === VoiceConnectionStatus.Signalling) {
      await this.awaitReady();
    }
  }

  /**
   * Signalling/connecting must reach Ready in time; otherwise the connection is stuck (e.g. no permission after
   * all, or a voice server that does not answer) and the session ends instead of hanging forever.
   */
  private async awaitReady(): Promise<void> {
    if (this.readyLock) return;
    this.readyLock = true;
    try {
      await entersState(this.connection, VoiceConnectionStatus.Ready, this.waitSignal(this.options.readyTimeoutMs ?? 20_000));
      this.wasReady = true;
    } catch {
      if (!this.ended) {
        this.log.warn({ status: this.connection.state.status }, 'voice connection did not become ready');
        this.end(this.wasReady ? 'disconnected' : 'connect_failed');
      }
    } finally {
      this.readyLock = false;
    }
  }

  private waitSignal(ms: number): AbortSignal {
    return AbortSignal.any([AbortSignal.timeout(ms), this.lifetime.signal]);
  }

  private tracks(): NarrationTrack[] {
    return [...(this.currentTrack ? [this.currentTrack] : []), ...this.queue];
  }

  private clearUserPause(): void {
    clearTimeout(this.pauseTimer);
    this.pauseTimer = undefined;
    const paused = this.userPause;
    this.userPause = undefined;
    paused?.track.setUserPause(undefined);
  }

  private updatePositions(): void {
    this.queue.forEach((track, i) => track.setQueuePosition(i + 1));
  }

  private armIdleTimer(): void {
    if (this.ended || this.busy || this.idleTimer || this.options.idleLeaveMs <= 0) return;
    this.idleTimer = setTimeout(() => {
      this.idleTimer = undefined;
      if (!this.busy) this.end('idle');
    }, this.options.idleLeaveMs);
    this.idleTimer.unref();
  }

  private disarmIdleTimer(): void {
    clearTimeout(this.idleTimer);
    this.idleTimer = undefined;
  }
}
