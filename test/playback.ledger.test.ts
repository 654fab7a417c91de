/**
 * The narration ↔ storage binding (narrationLedger.ts), the play position that a suspended narration resumes from
 * (PcmStream.audibleSegment), and the limit refusals' wording. The storage here is a small in-memory recorder: what
 * is tested is the binding's own logic — which writes happen, in which order, for which ending — not a database
 * (the real one is exercised end to end in bot.e2e.settings / bot.e2e.restart).
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { NarrationTrack, type NarrationHandle, type NarrationSource, type NarrationUsage } from '../src/services/playback/narrationTrack.js';
import { bindLedger } from '../src/services/playback/narrationLedger.js';
import { finalMessage } from '../src/services/playback/narrationReply.js';
import { PcmStream } from '../src/services/playback/pcmStream.js';
import { limitRefusal } from '../src/commands/admission.js';
import type { NarrationSummary, Segment } from '../src/services/orchestrator.js';
import type { PersistedNarration, SettleRequest, Storage } from '../src/services/storage/types.js';
import { pino } from 'pino';

const RATE = 24_000;
const silent = pino({ level: 'silent' });

/** Records the queue and ledger calls; `saveGate` holds saveQueued until released. */
function recorder(saveGate?: Promise<void>) {
  const calls: string[] = [];
  const settled: SettleRequest[] = [];
  const queue = new Map<string, PersistedNarration>();
  const storage = {
    saveQueued: async (entry: PersistedNarration) => {
      await saveGate;
      calls.push(`save:${entry.position}:${entry.resumeChunk}`);
      queue.set(entry.narrationId, entry);
    },
    updateQueued: async (id: string, patch: Partial<Pick<PersistedNarration, 'position' | 'resumeChunk'>>) => {
      calls.push(`update:${JSON.stringify(patch)}`);
      const e = queue.get(id);
      if (e) queue.set(id, { ...e, ...patch });
    },
    removeQueued: async (id: string) => {
      calls.push('remove');
      queue.delete(id);
    },
    settle: async (r: SettleRequest) => {
      calls.push(`settle:${r.outcome}`);
      settled.push(r);
    },
  } as unknown as Storage;
  return { storage, calls, settled, queue };
}

const SPENT: NarrationUsage = { charsSynthesized: 120, gpuSeconds: 3.25, cacheHits: 1, chunksDone: 2 };

/** An engine stand-in: yields `count` one-second segments, then the summary; reports SPENT as its usage. */
function source(count: number): NarrationSource {
  return {
    narrate: (): NarrationHandle => ({
      async *segments(): AsyncGenerator<Segment, NarrationSummary, undefined> {
        for (let i = 0; i < count; i++) {
          yield { index: i, text: `c${i}`, audio: { sampleRate: RATE, samples: new Float32Array(RATE) }, fromCache: false, retries: 0 };
        }
        return { chunks: count, sampleRate: RATE, durationSec: count, firstAudioMs: 0, totalMs: 0, retries: 0, cacheHits: 0 } as NarrationSummary;
      },
      cancel: () => undefined,
      usage: () => SPENT,
    }),
  };
}

function newTrack(count = 2, startChunk = 0): NarrationTrack {
  return new NarrationTrack(
    { text: 'x', voice: 'narrator', speed: 1, chunksTotal: count, requesterId: 'u1', requesterName: 'U', ...(startChunk ? { startChunk } : {}) },
    source(count),
  );
}

const entry = {
  guildId: 'g',
  voiceChannelId: 'v',
  textChannelId: 't',
  userId: 'u1',
  text: 'x',
  voice: 'narrator',
  speed: 1,
  locale: 'en-US',
  createdAt: 1,
};

describe('narrationLedger', () => {
  test('completed: saved, then settled with what the engine spent, then removed from the queue', async () => {
    const rec = recorder();
    const track = newTrack();
    const bound = bindLedger(track, { storage: rec.storage, narrationId: 'n1', logger: silent, persist: entry });
    track.startSynthesis();
    track.playbackEnded();
    await bound;
    assert.deepEqual(rec.calls.filter((c) => !c.startsWith('update')).map((c) => c.split(':')[0]), ['save', 'settle', 'remove']);
    assert.deepEqual(
      { ...rec.settled[0], now: 0 },
      { narrationId: 'n1', outcome: 'completed', charsSynthesized: 120, chunks: 2, cacheHits: 1, gpuSeconds: 3.25, now: 0 },
    );
    assert.equal(rec.queue.size, 0);
    if (track.outcome?.kind === 'completed') await track.outcome.audio?.dispose();
  });

  test('cancelled by a member: settled as cancelled with what was spent (the rest is given back), removed', async () => {
    const rec = recorder();
    const track = newTrack();
    const bound = bindLedger(track, { storage: rec.storage, narrationId: 'n2', logger: silent, persist: entry });
    await Promise.resolve();
    track.startSynthesis();
    track.cancel('stopped', 'bob');
    await bound;
    assert.deepEqual(rec.calls.slice(-2), ['settle:cancelled', 'remove']);
    assert.equal(rec.settled[0]!.charsSynthesized, 120);
    assert.equal(rec.queue.size, 0);
  });

  test('cancelled by the shutdown once stored: kept (not settled, not removed) and the reply says it will continue', async () => {
    const rec = recorder();
    const track = newTrack(3, 1);
    const bound = bindLedger(track, { storage: rec.storage, narrationId: 'n3', logger: silent, persist: entry });
    await new Promise((r) => setImmediate(r)); // the save lands
    assert.ok(track.resumable);
    track.cancel('shutdown');
    await bound;
    assert.deepEqual(rec.settled, []);
    assert.ok(!rec.calls.includes('remove'));
    assert.deepEqual(rec.queue.get('n3')?.resumeChunk, 1, 'resumes where it started (nothing was heard)');
    const final = await finalMessage(track, track.outcome!, { lang: 'en', attachmentSizeLimit: 1e9 });
    assert.match(final.status, /^⏸️ The bot is restarting: this narration will continue/);
  });

  test('cancelled by the shutdown before it was stored: settled and removed like any cancel (nothing resumes half-saved)', async () => {
    let open!: () => void;
    const rec = recorder(new Promise<void>((r) => (open = r)));
    const track = newTrack();
    const bound = bindLedger(track, { storage: rec.storage, narrationId: 'n4', logger: silent, persist: entry });
    track.cancel('shutdown');
    open();
    await bound;
    assert.ok(!track.resumable);
    assert.deepEqual(rec.calls.map((c) => c.split(':').slice(0, 2).join(':')).filter((c) => !c.startsWith('update')), ['save:0', 'settle:cancelled', 'remove']);
    const final = await finalMessage(track, track.outcome!, { lang: 'en', attachmentSizeLimit: 1e9 });
    assert.match(final.status, /^🛑 Cancelled: the bot is shutting down/);
  });

  test('a resumed narration ("existing") is not saved again; it settles under the same row', async () => {
    const rec = recorder();
    const track = newTrack(2, 1);
    const bound = bindLedger(track, { storage: rec.storage, narrationId: 'n5', logger: silent, persist: 'existing' });
    track.startSynthesis();
    track.playbackEnded();
    await bound;
    assert.ok(!rec.calls.some((c) => c.startsWith('save')));
    assert.deepEqual(rec.settled.map((s) => s.narrationId), ['n5']);
    if (track.outcome?.kind === 'completed') await track.outcome.audio?.dispose();
  });
});

describe('PcmStream.audibleSegment: the sentence a listener hears now', () => {
  test('follows the play time, minus inserted silence; -1 before any audio', () => {
    let now = 0;
    const stream = new PcmStream(() => now);
    assert.equal(stream.audibleSegment(), -1);
    for (let i = 0; i < 3; i++) stream.pushSegment({ sampleRate: RATE, samples: new Float32Array(RATE) });
    stream.setPlaying(true);
    now = 500;
    assert.equal(stream.audibleSegment(), 0);
    now = 1_500;
    assert.equal(stream.audibleSegment(), 1);
    stream.setPlaying(false); // paused (nobody listening): the position holds
    now = 60_000;
    assert.equal(stream.audibleSegment(), 1);
    stream.setPlaying(true);
    now = 61_000;
    assert.equal(stream.audibleSegment(), 2);
    now = 99_000; // past everything received (a stall): the last one
    assert.equal(stream.audibleSegment(), 2);
    stream.destroy();
  });
});

describe('limit refusals', () => {
  const now = Date.UTC(2026, 0, 1, 18, 48);
  test('say which limit, the numbers and when it resets (en, vi)', () => {
    const daily = { ok: false as const, limit: 'daily_chars' as const, limitValue: 300, used: 282, asked: 40, resetsAt: now + (5 * 60 + 12) * 60_000 };
    assert.equal(limitRefusal('en', daily, now), 'Server limit: 300 characters a day, 282 used; this narration needs 40. Resets in 5 h 12 min.');
    assert.equal(limitRefusal('vi', daily, now), 'Giới hạn của máy chủ: 300 ký tự mỗi ngày, đã dùng 282; bài này cần 40. Đặt lại sau 5 giờ 12 phút.');
    const cooldown = { ok: false as const, limit: 'cooldown' as const, limitValue: 30, used: 12, asked: 40, resetsAt: now + 18_000 };
    assert.equal(limitRefusal('en', cooldown, now), 'Slow down: one narration every 30 s per member in this server. Try again in 18 s.');
    const user = { ...daily, limit: 'user_daily_chars' as const, resetsAt: now + 30_500 };
    assert.match(limitRefusal('en', user, now), /^Your limit in this server: 300 characters a day, 282 used; this narration needs 40\. Resets in 31 s\.$/);
  });
});
