/**
 * The bot's playback sessions, one per server at most. It creates a GuildSession when a narration needs a voice
 * channel and forgets it as soon as the session ends (idle timeout, `/leave`, kicked, shutdown), so a bot that
 * has visited thousands of servers holds state only for the ones where it is in a voice channel now.
 */
import { joinVoiceChannel, type AudioPlayer, type DiscordGatewayAdapterCreator } from '@discordjs/voice';
import type { Logger } from 'pino';
import { NarratorError } from '../errors.js';
import { silentLogger } from '../log.js';
import type { CancelReason } from '../../messages.js';
import { GuildSession } from './guildSession.js';

export interface PlaybackOptions {
  readonly idleLeaveMs: number;
  /** With nobody in the channel: paused, then leave after this long (default 60 s; 0 = at once). */
  readonly emptyLeaveMs?: number;
  /** Paused by a user this long: leave (default 15 min; 0 = no limit). */
  readonly pauseLeaveMs?: number;
  readonly maxQueue: number;
  readonly logger?: Logger;
  readonly reconnectGraceMs?: number;
  readonly readyTimeoutMs?: number;
  /** Makes each session's player; defaults to `createNarrationPlayer` (tests use one that plays unsubscribed). */
  readonly createPlayer?: () => AudioPlayer;
}

/** Where to join: a guild's voice channel and the gateway adapter that carries the voice signalling. */
export interface JoinTarget {
  readonly guildId: string;
  readonly channelId: string;
  readonly adapterCreator: DiscordGatewayAdapterCreator;
}

export class PlaybackManager {
  private readonly sessions = new Map<string, GuildSession>();
  /** Set by `shutdown()`: no session is created or joined any more. */
  private closed = false;

  constructor(private readonly options: PlaybackOptions) {}

  get(guildId: string): GuildSession | undefined {
    return this.sessions.get(guildId);
  }

  /** Sessions alive now. */
  get size(): number {
    return this.sessions.size;
  }

  all(): GuildSession[] {
    return [...this.sessions.values()];
  }

  get isClosed(): boolean {
    return this.closed;
  }

  /**
   * The session for this guild in this channel: the existing one (moved to `channelId` if it is elsewhere and has
   * nothing to play), or a new one that starts connecting at once, so the voice handshake runs while the first
   * chunk is being synthesized. A session with work is bound to its channel: joining it from another channel
   * throws `busy_elsewhere` (so a second /narrate can never move the bot away from the first one's listeners),
   * and after `shutdown()` every join throws `shutting_down`. Synchronous, so a caller's check → join → enqueue
   * with no await in between is atomic per guild.
   */
  join(target: JoinTarget): GuildSession {
    if (this.closed) throw new NarratorError('transient', 'shutting_down', 'The bot is shutting down.');
    const existing = this.sessions.get(target.guildId);
    if (existing && !existing.hasEnded) {
      if (existing.channelId !== target.channelId && existing.busy) {
        throw new NarratorError('user', 'busy_elsewhere', 'Already narrating in another voice channel.', existing.channelId ?? undefined);
      }
      if (existing.channelId !== target.channelId) {
        existing.connection.rejoin({ channelId: target.channelId, selfDeaf: true, selfMute: false });
      }
      return existing;
    }
    const connection = joinVoiceChannel({
      guildId: target.guildId,
      channelId: target.channelId,
      adapterCreator: target.adapterCreator,
      // The bot never listens: deafened, Discord sends it no audio to decrypt.
      selfDeaf: true,
      selfMute: false,
    });
    const session = new GuildSession({
      guildId: target.guildId,
      connection,
      idleLeaveMs: this.options.idleLeaveMs,
      emptyLeaveMs: this.options.emptyLeaveMs,
      pauseLeaveMs: this.options.pauseLeaveMs,
      maxQueue: this.options.maxQueue,
      logger: this.options.logger ?? silentLogger,
      reconnectGraceMs: this.options.reconnectGraceMs,
      readyTimeoutMs: this.options.readyTimeoutMs,
      player: this.options.createPlayer?.(),
      onEnd: (ended) => {
        if (this.sessions.get(ended.guildId) === ended) this.sessions.delete(ended.guildId);
      },
    });
    this.sessions.set(target.guildId, session);
    return session;
  }

  /** Shutdown: refuses every later join, then ends every session (their narrations told 'shutdown'). */
  shutdown(): void {
    this.closed = true;
    this.endAll('shutdown');
  }

  /** Ends every session (shutdown): narrations cancelled with `reason`, voice connections destroyed. */
  endAll(reason: CancelReason): void {
    for (const session of this.all()) session.end(reason);
  }
}
