/**
 * Graceful shutdown with paid GPU jobs in flight, end to end: the real bot (child process) against the fake
 * Discord and the RunPod emulator. A narration is synthesizing on two busy workers and another is queued behind
 * it when SIGTERM arrives: every RunPod job is cancelled (none left running to bill), both requesters' replies
 * say the bot is restarting (both stay in the persisted queue and continue at the next start), the bot leaves the
 * voice channel (op 4 and its voice socket closed), closes its gateway session normally (1000), and the process
 * exits 0 within 10 s.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { FakeDiscord } from './support/fakeDiscord/index.js';
import { commandDefinitions, pollUntil, startBot, type BotProcess } from './support/botHarness.js';
import { startRunPodEmulator, type RunPodEmulator } from './support/runpodEmulator.js';

// ≤ 80 characters: one chunk each, even first (the chunker cuts a longer first sentence short for a fast start).
const sentence = (i: number) => `Câu thứ ${i} kể về một ngày dài ở làng quê, khi mọi người ra đồng gặt lúa.`;

describe('shutdown with RunPod jobs in flight', () => {
  let fake: FakeDiscord;
  let runpod: RunPodEmulator;
  let bot: BotProcess | undefined;

  before(async () => {
    // Jobs take a minute: they are certainly running (and billing) when the bot is stopped.
    runpod = await startRunPodEmulator({ workers: 2, jobTimeMs: () => 60_000 });
    fake = await FakeDiscord.start({ commands: commandDefinitions() });
  });

  after(async () => {
    await bot?.dispose();
    await fake.close();
    await runpod.close();
  });

  test('SIGTERM cancels every RunPod job, tells the waiting users, leaves voice, exits 0 in time', async () => {
    const guild = fake.createGuild({ name: 'Làng' });
    const text = fake.createChannel(guild.id, { name: 'general', type: 'text' });
    const voice = fake.createChannel(guild.id, { name: 'Lounge', type: 'voice' });
    const alice = fake.createUser({ username: 'alice', guilds: [guild.id] });
    const bob = fake.createUser({ username: 'bob', guilds: [guild.id] });
    fake.userJoinVoice(alice.id, voice.id);
    fake.userJoinVoice(bob.id, voice.id);
    bot = await startBot({ fake, runpod, env: { CACHE_MAX_MB: '0' } });

    const first = fake.invokeCommand({
      user: alice.id,
      guild: guild.id,
      channel: text.id,
      name: 'narrate',
      options: { text: [1, 2, 3].map(sentence).join(' ') },
    });
    await first.deferred();
    const second = fake.invokeCommand({ user: bob.id, guild: guild.id, channel: text.id, name: 'narrate', options: { text: sentence(4) } });
    await second.deferred();
    await second.waitForEdit((e) => String(e.payload.content).startsWith('⏳ Queued'), 10_000);
    await pollUntil(() => (runpod.activeJobs().filter((j) => j.status === 'IN_PROGRESS').length >= 2 ? true : undefined), 10_000, 'two jobs running');
    // The third chunk's /run may still be on its way when the first two are running.
    await pollUntil(() => (runpod.jobs.length >= 3 ? true : undefined), 10_000, 'the third chunk submitted');
    await fake.waitForVoiceReady(guild.id);
    assert.equal(runpod.jobs.length, 3, 'the first narration’s three chunks; the queued one costs nothing yet');

    // Exit 0 within 10 s, nothing escaped the handlers.
    await bot.stopCleanly();

    assert.deepEqual(runpod.activeJobs(), [], 'no RunPod job left queued or running');
    assert.ok(runpod.jobs.every((j) => j.status === 'CANCELLED'), runpod.jobs.map((j) => j.status).join(', '));
    // Both are kept in the persisted queue (DATABASE_URL defaults to a file in the bot's folder): they will continue.
    for (const inv of [first, second]) {
      assert.match(String(inv.edits.at(-1)?.payload.content), /^⏸️ The bot is restarting: this narration will continue/);
    }
    assert.equal(fake.botVoiceChannel(guild.id), null, 'left the voice channel');
    assert.ok(fake.voiceRequests.some((r) => r.guildId === guild.id && r.outcome === 'left'), 'it said so (op 4, no channel)');
    assert.ok(fake.voiceSessions(guild.id).every((s) => !s.open), 'its voice socket is closed');
    assert.ok(
      fake.gatewayCloses.some((c) => c.by === 'client' && c.code === 1000),
      `the gateway session was closed normally: ${JSON.stringify(fake.gatewayCloses)}`,
    );
    assert.deepEqual(fake.problems, []);
  });
});
