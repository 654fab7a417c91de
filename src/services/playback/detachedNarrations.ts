/**
 * Narrations that play in no voice channel (`/narrate output:file` and `output:voice_message`): they are
 * synthesized through the same engine and scheduler as voice ones, but have no GuildSession — nothing to join, no
 * voice queue. This registry is what a GuildSession is for voice narrations as far as control goes: it starts
 * them, limits how many a server may have at once (the same MAX_QUEUE_PER_GUILD), lets `/stop` cancel a
 * requester's own, reports counts for `/status`, and cancels them all at shutdown (their GPU jobs with them).
 *
 * A detached track's "playback" is over as soon as it starts: it finishes when synthesis does, with `played`
 * false, and its reply attaches the audio. Its segments go only to the recording on disk (no PcmStream: nobody would
 * read it, and a long narration's audio would pile up in memory), and it is not held to the synthesis look-ahead —
 * the user is waiting for the whole file.
 */
import type { CancelReason } from '../../messages.js';
import { NarratorError } from '../errors.js';
import type { NarrationTrack } from './narrationTrack.js';

interface Entry {
  readonly guildId: string;
  readonly track: NarrationTrack;
}

export class DetachedNarrations {
  private readonly entries = new Set<Entry>();
  private closed = false;

  constructor(private readonly maxPerGuild: number) {}

  get isClosed(): boolean {
    return this.closed;
  }

  /** Narrations still running, all servers. */
  get size(): number {
    return this.entries.size;
  }

  countIn(guildId: string): number {
    let n = 0;
    for (const e of this.entries) if (e.guildId === guildId) n++;
    return n;
  }

  isFull(guildId: string): boolean {
    return this.countIn(guildId) >= this.maxPerGuild;
  }

  /**
   * Starts synthesis at once (normal priority: a user is waiting for the file). Throws `shutting_down` after
   * `shutdown()` and `queue_full` past the per-server limit. Synchronous, like PlaybackManager.join + enqueue.
   */
  start(guildId: string, track: NarrationTrack): void {
    if (this.closed) throw new NarratorError('transient', 'shutting_down', 'The bot is shutting down.');
    if (this.isFull(guildId)) throw new NarratorError('user', 'queue_full', 'Too many narrations are waiting in this server.');
    const entry: Entry = { guildId, track };
    this.entries.add(entry);
    void track.finished.then(() => this.entries.delete(entry));
    track.startSynthesis({ playback: false });
    track.playbackEnded();
  }

  /** Cancels the requester's narrations in this server; returns how many. */
  stopRequester(guildId: string, requesterId: string, by?: string): number {
    let n = 0;
    for (const e of [...this.entries]) {
      if (e.guildId !== guildId || e.track.request.requesterId !== requesterId) continue;
      e.track.cancel('stopped', by);
      n++;
    }
    return n;
  }

  /** Refuses every later start and cancels every narration (told 'shutdown'). Idempotent. */
  shutdown(): void {
    this.closed = true;
    for (const e of [...this.entries]) e.track.cancel('shutdown');
  }
}
