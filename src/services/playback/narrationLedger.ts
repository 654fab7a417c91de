/**
 * Binds one accepted narration (a NarrationTrack) to the Storage: its ledger row and its place in the persisted
 * queue. Kept apart from the track and the session so playback knows nothing of the database, and so /narrate and
 * the resume after a restart bind a track the same way.
 *
 * - The ledger row was reserved by `storage.reserve` before the track was queued (the reservation holds while it
 *   waits). When the track ends — completed, failed or cancelled — the row is settled with what the engine really
 *   spent (`track.usage()`), which gives back the characters it did not synthesize.
 * - The persisted queue entry is written when the track is accepted, then updated cheaply: its position when the
 *   queue moves, the chunk the listener reached on segment boundaries (never per frame). It is removed when the
 *   track ends — except when a shutdown cancelled it: then it stays, with the exact chunk reached, and its ledger
 *   row stays reserved, so the next start continues it under the same row (settled then).
 *
 * Writes for one track are chained in order (a position update can never land after the removal). A storage
 * failure here is logged, not thrown: the narration itself is already under way and the listener is not punished
 * for the database; the reservation then simply holds until the day resets.
 */
import type { Logger } from 'pino';
import type { NarrationOutcome, PersistedNarration, Storage } from '../storage/types.js';
import type { NarrationTrack, TrackOutcome } from './narrationTrack.js';

export interface LedgerBinding {
  readonly storage: Storage;
  /** The ledger row (`reserve`'s narrationId); also the persisted queue entry's id. */
  readonly narrationId: string;
  readonly logger: Logger;
  /**
   * The queue entry to save now (a new narration), or 'existing' when it is already stored (a resumed one), or
   * undefined to keep nothing across restarts.
   */
  readonly persist?: Omit<PersistedNarration, 'position' | 'resumeChunk' | 'narrationId'> | 'existing';
  readonly now?: () => number;
}

/** The ledger outcome of a track's outcome. */
export function ledgerOutcome(outcome: TrackOutcome): NarrationOutcome {
  return outcome.kind;
}

/** A cancel by shutdown of a stored narration suspends it: it continues after the restart. */
function suspended(track: NarrationTrack, outcome: TrackOutcome): boolean {
  return outcome.kind === 'cancelled' && outcome.reason === 'shutdown' && track.resumable;
}

/**
 * Follows `track` until it ends and its final writes are done (resolves then; never rejects). Pass the promise to
 * the bot's background tasks so shutdown waits for it before closing the storage.
 */
export async function bindLedger(track: NarrationTrack, binding: LedgerBinding): Promise<void> {
  const { storage, narrationId, logger } = binding;
  const now = binding.now ?? Date.now;
  const log = logger.child({ narration: narrationId });
  let chain: Promise<void> = Promise.resolve();
  const write = (what: string, op: () => Promise<void>) => {
    chain = chain.then(op).catch((err: unknown) => log.warn({ err: String(err) }, `storage: could not ${what}`));
    return chain;
  };
  // 0 = current (playing); a prefetched narration still waits at its place, whatever its synthesis phase.
  const positionOf = () => track.queuePlace ?? 0;

  let position = positionOf();
  let reached = track.reachedChunk;
  const persist = binding.persist;
  if (persist === 'existing') {
    track.resumable = true;
    void write('update a resumed queue entry', () => storage.updateQueued(narrationId, { position, resumeChunk: reached }));
  } else if (persist) {
    void write('save a queued narration', async () => {
      await storage.saveQueued({ ...persist, narrationId, position, resumeChunk: reached });
      // Only now may a shutdown leave it for the next start: it is stored.
      if (!track.isFinished) track.resumable = true;
    });
  }

  const onChange = () => {
    const next = positionOf();
    if (next === position || !persist) return;
    position = next;
    void write('update a queue position', () => storage.updateQueued(narrationId, { position: next }));
  };
  const onReached = (chunk: number) => {
    if (!persist || chunk === reached) return;
    reached = chunk;
    void write('update the chunk reached', () => storage.updateQueued(narrationId, { resumeChunk: chunk }));
  };
  if (persist) {
    track.on('change', onChange);
    track.on('reached', onReached);
  }

  const outcome = await track.finished;
  track.off('change', onChange);
  track.off('reached', onReached);

  if (persist && suspended(track, outcome)) {
    // Kept for the next start, from the exact chunk reached; the reservation holds until it is settled then.
    const resumeChunk = track.reachedChunk;
    log.info({ resumeChunk, position }, 'narration suspended by the shutdown; it will resume after the restart');
    await write('keep a suspended narration', () => storage.updateQueued(narrationId, { position, resumeChunk }));
    return;
  }
  const usage = track.usage();
  await write('settle a narration', () =>
    storage.settle({
      narrationId,
      outcome: ledgerOutcome(outcome),
      charsSynthesized: usage.charsSynthesized,
      chunks: usage.chunksDone,
      cacheHits: usage.cacheHits,
      gpuSeconds: usage.gpuSeconds,
      now: now(),
    }),
  );
  if (persist) await write('remove a finished narration from the queue', () => storage.removeQueued(narrationId));
}
