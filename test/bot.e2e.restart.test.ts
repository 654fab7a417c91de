/**
 * The queue survives a restart (issue 10, point 8), end to end: the real bot (child process), the fake Discord, the
 * RunPod emulator and a SQLite file the test owns. A four-sentence narration is playing and another waits behind it
 * when SIGTERM arrives: both replies say they will continue, the persisted queue keeps both (the playing one with
 * the sentence it had reached). After a new start on the same DATABASE_URL the bot rejoins, edits both replies
 * "resumed after a restart", continues the first from that sentence (its earlier sentences are not synthesized
 * again) and then plays the second; the queue is empty at the end and both ledger rows are settled. A narration
 * whose listeners left while the bot was down is dropped at the next start (its reply says so, its reservation is
 * given back). Also here, with the audio cache on: characters served entirely from the cache do not count against
 * the daily limit.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FakeDiscord } from './support/fakeDiscord/index.js';
import { commandDefinitions, contentOf, createVoiceGuild, pollUntil, startBot, type BotProcess } from './support/botHarness.js';
import { startRunPodEmulator, type RunPodEmulator } from './support/runpodEmulator.js';
import { openStorage } from '../src/services/storage/index.js';

// ≤ 80 characters: one chunk each (about 5 s of the fake voice at the default speed).
const sentence = (i: number) => `Câu thứ ${i} kể về một ngày dài ở làng quê, khi mọi người ra đồng gặt lúa.`;

describe('the queue survives a restart', () => {
  let fake: FakeDiscord;
  let runpod: RunPodEmulator;
  let bot: BotProcess | undefined;
  let dbDir: string;
  let env: Record<string, string>;

  before(async () => {
    runpod = await startRunPodEmulator({ workers: 2, jobTimeMs: () => 400 });
    fake = await FakeDiscord.start({ commands: commandDefinitions() });
    dbDir = await mkdtemp(join(tmpdir(), 'narrator-db-'));
    env = { DATABASE_URL: `sqlite:${join(dbDir, 'narrator.db')}`, TTS_VOICES: 'narrator' };
  });

  after(async () => {
    await bot?.dispose();
    await fake.close();
    await runpod.close();
    await rm(dbDir, { recursive: true, force: true });
  });

  test('SIGTERM mid-queue: the playing narration continues from its sentence, then the queued one plays', async () => {
    const { guild, text, users } = createVoiceGuild(fake, 'Làng', ['alice', 'bob']);
    bot = await startBot({ fake, runpod, env });
    const long = [1, 2, 3, 4].map(sentence);
    const first = fake.invokeCommand({ user: users.alice!, guild: guild.id, channel: text.id, name: 'narrate', options: { text: long.join(' ') } });
    await first.deferred();
    const second = fake.invokeCommand({ user: users.bob!, guild: guild.id, channel: text.id, name: 'narrate', options: { text: sentence(9) } });
    await second.deferred();
    // Well into the second sentence (each is ~5 s): the listener has reached chunk 1.
    await pollUntil(() => (fake.receivedAudio(guild.id).length / 2 / 48_000 > 7 ? true : undefined), 60_000, 'seven seconds heard');

    await bot.stopCleanly();
    for (const inv of [first, second]) {
      assert.match(contentOf(inv.edits.at(-1)!), /^⏸️ The bot is restarting: this narration will continue/);
    }
    const storage = await openStorage(env.DATABASE_URL!);
    const kept = await storage.pendingQueue();
    await storage.close();
    assert.equal(kept.length, 2, 'both narrations are kept');
    assert.deepEqual(kept.map((k) => [k.userId, k.position]), [[users.alice, 0], [users.bob, 1]]);
    const reached = kept[0]!.resumeChunk;
    assert.ok(reached >= 1 && reached <= 2, `resumes from chunk ${reached}`);
    assert.ok(!kept.some((k) => k.interactionToken === undefined), 'tokens stored to edit the replies');

    const jobsBefore = runpod.jobs.length;
    bot = await startBot({ fake, runpod, env });
    await first.waitForEdit((e) => contentOf(e).startsWith('🔁 Resumed after a restart.'), 30_000);
    const firstDone = await first.waitForEdit((e) => e.files.length > 0, 90_000);
    assert.match(contentOf(firstDone), /^✅ Narrated/);
    const secondDone = await second.waitForEdit((e) => e.files.length > 0, 90_000);
    assert.match(contentOf(secondDone), /^✅ Narrated/);
    assert.ok(
      second.edits.some((e) => contentOf(e).startsWith('🔁 Resumed after a restart.')),
      'the queued one was told it resumed',
    );

    const resumedTexts = runpod.jobs.slice(jobsBefore).map((j) => String(j.input['text']));
    for (const earlier of long.slice(0, reached)) assert.ok(!resumedTexts.includes(earlier), `"${earlier}" was not synthesized again`);
    for (const rest of long.slice(reached)) assert.ok(resumedTexts.includes(rest), `"${rest}" was synthesized after the restart`);
    assert.ok(resumedTexts.includes(sentence(9)));
    assert.deepEqual(runpod.activeJobs(), []);

    await bot.stopCleanly();
    bot = undefined;
    const after = await openStorage(env.DATABASE_URL!);
    try {
      assert.deepEqual(await after.pendingQueue(), [], 'nothing left in the persisted queue');
      const usage = await after.usage(guild.id, Date.now());
      assert.equal(usage.today.narrations, 2, 'both ledger rows settled');
      assert.ok(usage.today.gpuSeconds > 0);
    } finally {
      await after.close();
    }
    assert.deepEqual(fake.problems, []);
  });

  test('characters served entirely from the cache do not count against the daily limit', async () => {
    const { guild, text, users } = createVoiceGuild(fake, 'Xóm', ['carol']);
    const storage = await openStorage(env.DATABASE_URL!);
    await storage.updateSettings(guild.id, { dailyChars: 100 });
    await storage.close();
    bot = await startBot({ fake, runpod, env }); // the audio cache is on (the default)
    const words = 'Chào buổi sáng cả nhà, hôm nay chúng ta đọc truyện cổ tích nhé.';
    const narrate = () => fake.invokeCommand({ user: users.carol!, guild: guild.id, channel: text.id, name: 'narrate', options: { text: words, speed: 2 } });
    const first = narrate();
    await first.deferred();
    assert.match(contentOf(await first.waitForEdit((e) => e.files.length > 0, 60_000)), /^✅ Narrated/);
    const jobs = runpod.jobs.length;
    // Again, same text: all of it is in the cache — nothing to synthesize, so the 100-character day still allows it.
    const again = narrate();
    await again.deferred();
    assert.match(contentOf(await again.waitForEdit((e) => e.files.length > 0, 60_000)), /^✅ Narrated/);
    assert.equal(runpod.jobs.length, jobs, 'served from the cache');
    // A new text of the same length needs synthesis: 64 used + 64 > 100.
    const other = fake.invokeCommand({
      user: users.carol!,
      guild: guild.id,
      channel: text.id,
      name: 'narrate',
      options: { text: 'Chào buổi tối cả nhà, hôm nay chúng ta đọc truyện cổ tích nhé.', speed: 2 },
    });
    assert.match((await other.answeredPrivately()).content, /^Server limit: 100 characters a day, \d+ used; this narration needs \d+\./);
    assert.equal(runpod.jobs.length, jobs);
    await bot.stopCleanly();
    bot = undefined;
  });

  test('listeners gone while the bot was down: dropped at the next start, reply edited, reservation given back', async () => {
    const { guild, text, users } = createVoiceGuild(fake, 'Ấp', ['dan']);
    // A day's budget the narration (~225 characters) fits in, and that a second one could use only once it is given back.
    const setup = await openStorage(env.DATABASE_URL!);
    await setup.updateSettings(guild.id, { dailyChars: 250 });
    await setup.close();
    bot = await startBot({ fake, runpod, env });
    const inv = fake.invokeCommand({ user: users.dan!, guild: guild.id, channel: text.id, name: 'narrate', options: { text: [5, 6, 7].map(sentence).join(' ') } });
    await inv.deferred();
    await pollUntil(() => (fake.receivedAudio(guild.id).length > 0 ? true : undefined), 60_000, 'audio heard');
    await bot.stopCleanly();
    fake.userLeaveVoice(users.dan!, guild.id);
    assert.equal(fake.userVoiceChannel(guild.id, users.dan!), null);
    bot = await startBot({ fake, runpod, env });
    await inv.waitForEdit((e) => contentOf(e).startsWith('👋 Not resumed after the restart'), 30_000);
    const storage = await openStorage(env.DATABASE_URL!);
    try {
      // The drop's writes follow the edit closely: give them a moment (bounded).
      for (let i = 0; i < 100 && (await storage.pendingQueue([guild.id])).length > 0; i++) await new Promise((r) => setTimeout(r, 50));
      assert.deepEqual(await storage.pendingQueue([guild.id]), [], 'the entry is dropped');
      assert.equal((await storage.usage(guild.id, Date.now())).today.narrations, 1);
      // Its reservation was given back: 200 more characters fit in the 250 of the day again.
      const again = await storage.reserve({ guildId: guild.id, userId: users.dan!, charsAsked: 200, charsToSynthesize: 200, chunks: 1, now: Date.now() });
      assert.ok(again.ok, JSON.stringify(again));
      await storage.settle({ narrationId: again.narrationId, outcome: 'cancelled', charsSynthesized: 0, chunks: 0, cacheHits: 0, gpuSeconds: 0, now: Date.now() });
    } finally {
      await storage.close();
    }
    assert.equal(fake.botVoiceChannel(guild.id), null, 'it did not rejoin an empty channel');
    await bot.stopCleanly();
    bot = undefined;
  });
});
