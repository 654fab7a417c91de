/**
 * `/usage server` and `/usage me` against a real SQLite ledger filled through `reserve` + `settle` (as /narrate
 * does): the figures a member reads equal what was recorded (narrations, characters, GPU seconds, cost at
 * GPU_PRICE_PER_SECOND), top members are mentions that never ping, numbers follow the caller's locale, the server
 * view needs Manage Server while `me` is for anyone, and a vanished database gives a clear private message.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { loadConfig } from '../src/services/config.js';
import { openStorage, type Storage } from '../src/services/storage/index.js';
import type { CommandContext } from '../src/commands/types.js';
import { usage } from '../src/commands/usage.js';
import { invoke, isEphemeral, privateAnswer } from './support/commandInteraction.js';

const config = loadConfig({ TTS_VOICES: 'narrator', CACHE_MAX_MB: '0', GPU_PRICE_PER_SECOND: '0.0002' });

function contextWith(storage: Storage | undefined): CommandContext {
  const noop = () => undefined;
  const logger = { info: noop, warn: noop, debug: noop, error: noop, trace: noop, fatal: noop, child: () => logger };
  return {
    config,
    storage,
    logger: logger as unknown as CommandContext['logger'],
    orchestrator: undefined as never,
    backend: { kind: 'local' },
    playback: undefined as never,
    background: () => undefined,
  };
}

/** One narration as /narrate records it: reserved, then settled with what it really cost. */
async function narration(
  storage: Storage,
  o: { guildId: string; userId: string; chars: number; synthesized: number; gpuSeconds: number; now: number; outcome?: 'completed' | 'cancelled' },
): Promise<void> {
  const reserved = await storage.reserve({ guildId: o.guildId, userId: o.userId, charsAsked: o.chars, charsToSynthesize: o.synthesized, chunks: 2, now: o.now });
  assert.ok(reserved.ok);
  await storage.settle({
    narrationId: reserved.narrationId,
    outcome: o.outcome ?? 'completed',
    charsSynthesized: o.synthesized,
    chunks: 2,
    cacheHits: 0,
    gpuSeconds: o.gpuSeconds,
    now: o.now + 1000,
  });
}

describe('/usage against SQLite', () => {
  let storage: Storage;
  let ctx: CommandContext;
  const guildId = '8100';
  const DAY = 86_400_000;
  before(async () => {
    storage = await openStorage('sqlite::memory:');
    ctx = contextWith(storage);
    const now = Date.now();
    // "Today" is the UTC day /usage will read with the real clock: never before its midnight, even just after it.
    const today = Math.max(now - (now % DAY), now - 60_000);
    // Today: Ana 1,200 chars (1,000 synthesized, 10 s), Bình 300 chars (all synthesized, 2.5 s).
    await narration(storage, { guildId, userId: '111', chars: 1200, synthesized: 1000, gpuSeconds: 10, now: today });
    await narration(storage, { guildId, userId: '222', chars: 300, synthesized: 300, gpuSeconds: 2.5, now: today });
    // Ten days ago: Bình 2,000 chars, 20 s (older than today, within 30 days).
    await narration(storage, { guildId, userId: '222', chars: 2000, synthesized: 2000, gpuSeconds: 20, now: now - 10 * DAY });
    // Another server: never counted here.
    await narration(storage, { guildId: '8199', userId: '111', chars: 5000, synthesized: 5000, gpuSeconds: 99, now: now - 60_000 });
  });
  after(() => storage.close());

  test('server view: today and 30 days, cost at the configured price, top members by GPU time as silent mentions', async () => {
    const inv = invoke({ guildId, subcommand: 'server', manageServer: true });
    await usage.execute(inv.interaction, ctx);
    const answer = privateAnswer(inv.answers);
    assert.equal(
      answer.content,
      [
        '**Usage in this server**',
        // 12.5 s × $0.0002 = $0.0025; 32.5 s → $0.0065
        '• Today (UTC): 2 narrations · 1,500 characters (1,300 synthesized) · 12.5 GPU s · ≈ $0.0025',
        '• Last 30 days: 3 narrations · 3,500 characters (3,300 synthesized) · 32.5 GPU s · ≈ $0.0065',
        '**Top members, last 30 days**',
        '1. <@222> — 2 narrations · 2,300 characters · 22.5 GPU s · ≈ $0.0045',
        '2. <@111> — 1 narration · 1,200 characters · 10 GPU s · ≈ $0.002',
        '-# Cost estimated at $0.0002 per GPU second; characters served from the cache cost nothing.',
      ].join('\n'),
    );
    assert.deepEqual(answer.allowedMentions, { parse: [] }, 'the top members are not pinged');
  });

  test('me: only the caller’s own narrations, for anyone (no Manage Server needed)', async () => {
    const inv = invoke({ guildId, subcommand: 'me', userId: '222', manageServer: false });
    await usage.execute(inv.interaction, ctx);
    assert.equal(
      privateAnswer(inv.answers).content,
      [
        '**Your usage in this server**',
        '• Today (UTC): 1 narration · 300 characters (300 synthesized) · 2.5 GPU s · ≈ $0.0005',
        '• Last 30 days: 2 narrations · 2,300 characters (2,300 synthesized) · 22.5 GPU s · ≈ $0.0045',
        '-# Cost estimated at $0.0002 per GPU second; characters served from the cache cost nothing.',
      ].join('\n'),
    );
  });

  test('Vietnamese: numbers and money written the Vietnamese way', async () => {
    const inv = invoke({ guildId, subcommand: 'server', manageServer: true, locale: 'vi' });
    await usage.execute(inv.interaction, ctx);
    const text = privateAnswer(inv.answers).content;
    assert.match(text, /^\*\*Mức dùng của máy chủ này\*\*\n/);
    assert.ok(text.includes('• 30 ngày qua: 3 bài · 3.500 ký tự (3.300 ký tự tạo mới) · 32,5 giây GPU · ≈ 0,0065'), text);
  });

  test('nothing recorded yet: says so', async () => {
    const inv = invoke({ guildId: '8142', subcommand: 'me', userId: '999' });
    await usage.execute(inv.interaction, ctx);
    assert.equal(privateAnswer(inv.answers).content, '**Your usage in this server**\nNo narrations in the last 30 days.');
  });

  test('the server view without Manage Server is refused at once, privately', async () => {
    const inv = invoke({ guildId, subcommand: 'server', manageServer: false });
    await usage.execute(inv.interaction, ctx);
    assert.equal(inv.answers.length, 1);
    assert.ok(isEphemeral(inv.answers[0]));
    assert.equal(inv.answers[0]!.payload.content, 'Only members with the **Manage Server** permission can do this.');
  });

  test('a database that went away: a clear private message', async () => {
    const gone = await openStorage('sqlite::memory:');
    await gone.close();
    const inv = invoke({ guildId, subcommand: 'me' });
    await usage.execute(inv.interaction, contextWith(gone));
    assert.equal(privateAnswer(inv.answers).content, 'The settings database is not reachable right now, so I cannot do this. Try again in a minute.');
  });
});
