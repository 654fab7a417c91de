/**
 * The result of a narration that outlives its interaction token, end to end: the real bot (child process) against
 * the fake Discord (tokens made to expire after 4 s instead of 15 min) and the RunPod emulator (a job of 6 s).
 * The bot may not send messages in the command's channel (a channel overwrite, seen through the gateway like on
 * Discord), so the finished narration — its text and its audio — reaches the requester by DM. Discord's "expired
 * token" answer (401 / 50027) is met once: the bot never tries that token again, and never attempts a channel
 * post it can tell from its cache would be refused.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { FakeDiscord } from './support/fakeDiscord/index.js';
import { commandDefinitions, pollUntil, startBot, type BotProcess } from './support/botHarness.js';
import { startRunPodEmulator, type RunPodEmulator } from './support/runpodEmulator.js';
import { decodeTestWav } from './support/fakeVoice.js';

describe('after the 15-minute token', () => {
  let fake: FakeDiscord;
  let runpod: RunPodEmulator;
  let bot: BotProcess | undefined;

  before(async () => {
    runpod = await startRunPodEmulator({ workers: 1, jobTimeMs: () => 6_000 });
    fake = await FakeDiscord.start({ commands: commandDefinitions(), interactionTokenTtlMs: 4_000 });
  });

  after(async () => {
    await bot?.dispose();
    await fake.close();
    await runpod.close();
  });

  test('the channel refuses the bot: the requester gets the narration by DM; the expired token is not retried', async () => {
    const guild = fake.createGuild({ name: 'Làng' });
    const text = fake.createChannel(guild.id, { name: 'general', type: 'text' });
    const voice = fake.createChannel(guild.id, { name: 'Lounge', type: 'voice' });
    const alice = fake.createUser({ username: 'alice', guilds: [guild.id] });
    fake.userJoinVoice(alice.id, voice.id);
    fake.setPermissions({ guild: guild.id, channel: text.id, deny: ['SendMessages'] });
    bot = await startBot({ fake, runpod, env: { CACHE_MAX_MB: '0', TTS_VOICES: 'narrator' } });

    const inv = fake.invokeCommand({ user: alice.id, guild: guild.id, channel: text.id, name: 'narrate', options: { text: 'Xin chào, đây là một bài đọc ngắn.' } });
    await inv.deferred();
    const dm = await pollUntil(() => fake.directMessages(alice.id)[0], 30_000, 'a DM to the requester');

    assert.match(dm.content, new RegExp(`^Your narration is finished\\. I could not post it in <#${text.id}>, so here it is:\\n✅ Narrated`));
    assert.match(dm.content, /\n```\nXin chào, đây là một bài đọc ngắn\.\n```$/);
    const files = fake.messageFiles(dm.id);
    assert.equal(files.length, 1);
    assert.equal(files[0]!.filename, 'narration.wav');
    assert.ok(decodeTestWav(files[0]!.bytes).samples.length > 0);

    // The token: refused once (401 / 50027), then never used again.
    assert.equal(inv.rejected.length, 1, JSON.stringify(inv.rejected));
    assert.equal(inv.rejected[0]!.code, 50027);
    const refusedAt = inv.rejected[0]!.receivedAt;
    assert.ok([...inv.edits, ...inv.followUps].every((w) => w.receivedAt < refusedAt), 'nothing through the token after its refusal');
    // The channel: not even tried (the cache said the bot may not send there).
    assert.deepEqual(fake.restLog.filter((r) => r.method === 'POST' && r.path.includes(`/channels/${text.id}/messages`)), []);

    await bot.stopCleanly();
    assert.deepEqual(runpod.activeJobs(), []);
    assert.deepEqual(fake.problems, []);
  });
});
