/**
 * End to end, audio for nobody: the real bot (child process) against the fake Discord and the RunPod emulator,
 * with VOICE_EMPTY_LEAVE_SEC=5.
 *
 * - Everyone leaves the bot's voice channel mid-narration: within 1 s no voice packet is sent and no new RunPod job
 *   is submitted; the reply says it is paused; after 5 s every job of the current and the queued narration is
 *   cancelled (none left IN_QUEUE/IN_PROGRESS), the bot has left the channel and each reply says why.
 * - The listener comes back within the window: playback continues where it paused and the narration is heard
 *   whole (compared with the engine's own audio), no word lost.
 * - A requester who left the channel can still /stop their own narration; the others' narration plays on.
 *
 * The three run concurrently, in three guilds of one bot.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { FakeDiscord, toMono } from './support/fakeDiscord/index.js';
import type { Invocation } from './support/fakeDiscord/index.js';
import { commandDefinitions, contentOf, createVoiceGuild, pollUntil, startBot, type BotProcess, type VoiceGuild } from './support/botHarness.js';
import { fakeSynthesize } from './support/fakeVoice.js';
import { envelopeMatch, expectedNarration, seconds } from './support/narrationAudio.js';
import { latencyModel, startRunPodEmulator, type RunPodEmulator } from './support/runpodEmulator.js';

/** The fake voice, four times faster than the default one: whole narrations play in a few seconds. */
const fastVoice = (text: string, speed: number): Uint8Array => fakeSynthesize(text, speed * 4);

/** Long enough that jobs are still to be submitted when the room empties: each of these takes 1.5 s on the worker. */
const EMPTIED = Array.from({ length: 8 }, (_, i) => `Đoạn ${i + 1}: người kể chuyện đọc chậm từng câu cho cả làng cùng nghe bên bếp lửa hồng.`);
const QUEUED = ['Bài thứ hai chờ phía sau, kể về con đò nhỏ trên dòng sông quê yên ả.'];
const RETURNED = [
  'Buổi sáng, mặt trời ló dạng sau rặng tre xanh đầu làng.',
  'Tiếng gà gáy vang khắp xóm, gọi mọi người thức dậy đi làm.',
  'Trên đường ra đồng, các bác nông dân chào nhau rôm rả.',
  'Đến trưa, cả làng nghỉ ngơi dưới bóng cây đa cổ thụ.',
];
const OWN = Array.from({ length: 4 }, (_, i) => `Câu ${i + 1} của Mai: chuyện dài về những chuyến đi xa, đọc chậm rãi.`);
const OTHERS = ['Câu chuyện của Nam nói về chú mèo mướp hay leo trèo trên mái nhà.'];
const SLOW = new Set([...EMPTIED, ...OWN]);

describe('e2e: nobody left in the voice channel', () => {
  let fake: FakeDiscord;
  let runpod: RunPodEmulator;
  let bot: BotProcess;

  before(async () => {
    const latency = latencyModel({ a: 200 });
    runpod = await startRunPodEmulator({
      workers: 8,
      synth: fastVoice,
      jobTimeMs: (input) => (SLOW.has(String(input['text'])) ? 1_500 : latency(input)),
    });
    fake = await FakeDiscord.start({ commands: commandDefinitions() });
    bot = await startBot({ fake, runpod, env: { VOICE_EMPTY_LEAVE_SEC: '5', MAX_CONCURRENT_JOBS: '2', CACHE_MAX_MB: '0' } });
  });

  after(async () => {
    await bot?.dispose();
    await fake?.close();
    await runpod?.close();
  });

  const command = (world: VoiceGuild, user: string, name: string, options?: Record<string, string>): Invocation =>
    fake.invokeCommand({ user: world.users[user]!, guild: world.guild.id, channel: world.text.id, name, options });
  const narrate = (world: VoiceGuild, user: string, sentences: readonly string[]) => command(world, user, 'narrate', { text: sentences.join(' ') });
  const jobsFor = (sentences: readonly string[]) => runpod.jobs.filter((j) => sentences.includes(String(j.input['text'])));
  /** Every packet the bot sent in the guild after `at` (silence and inaudible frames included). */
  const packetsAfter = (guildId: string, at: number) =>
    fake.frames(guildId, { includeSilence: true, includeInaudible: true }).filter((f) => f.receivedAt > at);

  describe('three guilds at once', { concurrency: true }, () => {
    test('everyone leaves: silent within 1 s, no new job; after 5 s every job cancelled, the bot gone, each reply says why', async () => {
      const world = createVoiceGuild(fake, 'Vắng', ['alice', 'bob']);
      const first = narrate(world, 'alice', EMPTIED);
      await first.deferred();
      const second = narrate(world, 'bob', QUEUED);
      await second.deferred();
      await fake.waitForFrames(world.guild.id, 25, 20_000); // half a second in
      assert.ok(jobsFor(EMPTIED).length < EMPTIED.length, 'some chunks are not submitted yet');

      const leftAt = performance.now();
      fake.userLeaveVoice(world.users['alice']!, world.guild.id);
      fake.userLeaveVoice(world.users['bob']!, world.guild.id);
      await first.waitForEdit((e) => contentOf(e).includes('⏸️ Paused: nobody is left in the voice channel.'), 5_000);
      await sleep(2_000);
      assert.deepEqual(packetsAfter(world.guild.id, leftAt + 1_000).length, 0, 'no voice packet 1 s after the last listener left');
      // Only this guild's texts: the other guilds of this suite narrate at the same time.
      const late = jobsFor([...EMPTIED, ...QUEUED]).filter((j) => j.submittedAt > leftAt + 1_000);
      assert.deepEqual(late.map((j) => j.input['text']), [], 'no job submitted after the room emptied');
      assert.ok(jobsFor(EMPTIED).length < EMPTIED.length, 'the rest of the narration was never paid for');
      assert.equal(jobsFor(QUEUED).length, 0, 'nor the queued one');

      await fake.waitForBotVoice(world.guild.id, null, 15_000);
      const leftAfter = performance.now() - leftAt;
      assert.ok(leftAfter >= 4_500, `left after ${Math.round(leftAfter)} ms, not before VOICE_EMPTY_LEAVE_SEC`);
      for (const inv of [first, second]) {
        const last = await inv.waitForEdit((e) => contentOf(e).startsWith('👋'), 5_000);
        assert.match(contentOf(last), /^👋 Cancelled: everyone left the voice channel, so I left too\./);
        assert.deepEqual(last.files, [], 'nothing attached for a cancelled narration');
      }
      const mine = () => jobsFor([...EMPTIED, ...QUEUED]);
      await pollUntil(() => (mine().every((j) => j.status !== 'IN_QUEUE' && j.status !== 'IN_PROGRESS') ? true : undefined), 5_000, 'no job left on the worker');
    });

    test('the listener comes back within the window: playback continues where it paused, no word lost', async () => {
      const world = createVoiceGuild(fake, 'Quay lại', ['vy']);
      const inv = narrate(world, 'vy', RETURNED);
      await inv.deferred();
      await fake.waitForFrames(world.guild.id, 50, 20_000); // one second in
      const leftAt = performance.now();
      fake.userLeaveVoice(world.users['vy']!, world.guild.id);
      await sleep(2_500);
      assert.equal(packetsAfter(world.guild.id, leftAt + 1_000).length, 0, 'silent while nobody listens');
      fake.userJoinVoice(world.users['vy']!, world.voice.id);
      assert.match(contentOf(await inv.waitForEdit((e) => e.files.length > 0, 20_000)), /^✅ Narrated/);
      assert.equal(fake.botVoiceChannel(world.guild.id), world.voice.id, 'it stayed');

      const heard = { sampleRate: 48_000, samples: toMono(fake.receivedAudio(world.guild.id)) };
      const want = await expectedNarration({ text: RETURNED.join(' '), voice: 'narrator', speed: 0.9, voices: ['narrator'], synth: fastVoice });
      const drift = Math.abs(seconds(heard) - seconds(want)) / seconds(want);
      assert.ok(drift < 0.03, `heard ${seconds(heard).toFixed(2)} s of ${seconds(want).toFixed(2)} s`);
      const match = envelopeMatch(heard, want);
      assert.ok(match.r > 0.9, `envelope correlation ${match.r.toFixed(3)} at ${match.lagMs} ms`);
    });

    test('a requester who left can still /stop their own narration; the others’ plays on', async () => {
      const world = createVoiceGuild(fake, 'Tự dừng', ['mai', 'nam']);
      const own = narrate(world, 'mai', OWN);
      await own.deferred();
      const others = narrate(world, 'nam', OTHERS);
      await others.deferred();
      await fake.waitForFrames(world.guild.id, 10, 20_000);
      fake.userLeaveVoice(world.users['mai']!, world.guild.id);
      // Nam is still there: nothing pauses.
      assert.equal(contentOf(await command(world, 'mai', 'stop').replied()), '⏹️ Stopped and cleared 1 narration(s).');
      const last = await own.waitForEdit((e) => contentOf(e).startsWith('⏹️'));
      assert.match(contentOf(last), new RegExp(`^⏹️ Stopped by <@${world.users['mai']}>\\.`));
      assert.match(contentOf(await others.waitForEdit((e) => e.files.length > 0, 20_000)), /^✅ Narrated/);
      await pollUntil(() => (jobsFor(OWN).every((j) => j.status !== 'IN_QUEUE' && j.status !== 'IN_PROGRESS') ? true : undefined), 5_000, 'Mai’s jobs ended');
    });
  });

  test('nothing left on the worker; the bot shuts down cleanly', async () => {
    assert.deepEqual(runpod.activeJobs(), []);
    assert.deepEqual(fake.voicePacketErrors, { stray: 0, decryptFailures: 0 });
    await bot.stopCleanly();
    assert.deepEqual(fake.problems, []);
  });
});
