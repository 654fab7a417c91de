/**
 * End to end: the real bot (`src/index.ts` in a child process: discord.js, @discordjs/voice, Opus) against the
 * offline fake Discord (real gateway, REST and voice protocols), with the offline espeak-ng backend.
 * A user in a voice channel runs /narrate: the reply is deferred at once, audio frames arrive in the voice channel
 * before the narration is finished, and the reply ends with the WAV attachment and the text; a refusal is
 * ephemeral and specific; SIGTERM shuts the bot down gracefully (leaves the voice channel, exit 0).
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { FakeDiscord, rms, toMono } from './support/fakeDiscord/index.js';
import { commandDefinitions, startBot, type BotProcess } from './support/botHarness.js';
import { decodeTestWav } from './support/fakeVoice.js';

const TEXT = 'Xin chào các bạn. Hôm nay trời đẹp quá, chúng ta cùng nhau ra công viên đi dạo và ngắm hoa nhé!';

describe('the bot end to end', () => {
  let fake: FakeDiscord;
  let bot: BotProcess;
  let guildId: string;
  let textId: string;
  let voiceId: string;
  let aliceId: string;
  let bobId: string;

  before(async () => {
    fake = await FakeDiscord.start({ commands: commandDefinitions() });
    const guild = fake.createGuild({ name: 'Làng' });
    guildId = guild.id;
    textId = fake.createChannel(guildId, { name: 'general', type: 'text' }).id;
    voiceId = fake.createChannel(guildId, { name: 'Lounge', type: 'voice' }).id;
    aliceId = fake.createUser({ username: 'alice', guilds: [guildId] }).id;
    bobId = fake.createUser({ username: 'bob', guilds: [guildId] }).id;
    fake.userJoinVoice(aliceId, voiceId);
    // The offline espeak-ng backend; the (disabled) cache writes nothing.
    bot = await startBot({ fake, env: { TTS_BACKEND: 'local', TTS_VOICES: 'narrator,female', CACHE_MAX_MB: '0' } });
  });

  after(async () => {
    await bot?.dispose();
    await fake.close();
  });

  test('/narrate: deferred at once, audio streams into the voice channel, the reply ends with the WAV', async () => {
    const inv = fake.invokeCommand({ user: aliceId, guild: guildId, channel: textId, name: 'narrate', options: { text: TEXT } });
    const defer = await inv.deferred();
    assert.ok(inv.latencyOf(defer) < 3000, 'deferred within 3 s');
    const final = await inv.waitForEdit((e) => e.files.length > 0, 60_000);
    const firstAudio = fake.firstPacketAt(guildId);
    assert.ok(firstAudio !== undefined && firstAudio < final.receivedAt, 'audio played before the narration ended');

    const content = String(final.payload.content);
    assert.match(content, /^✅ Narrated · 0:0\d · voice \*\*narrator\*\* · speed 0\.9\n```\nXin chào các bạn\./);
    const [file] = final.files;
    assert.equal(file!.name, 'narration.wav');
    const wav = decodeTestWav(file!.bytes);
    const wavSeconds = wav.samples.length / wav.sampleRate;
    assert.ok(wavSeconds > 2, `${wavSeconds} s of speech`);

    // What a listener heard: the same narration, at the same length, audible.
    const heard = toMono(fake.receivedAudio(guildId));
    const heardSeconds = heard.length / 48_000;
    assert.ok(Math.abs(heardSeconds - wavSeconds) < 0.5, `heard ${heardSeconds} s, attached ${wavSeconds} s`);
    assert.ok(rms(heard) > 0.01, 'not silence');
    assert.deepEqual(fake.voicePacketErrors, { stray: 0, decryptFailures: 0 });
    assert.equal(fake.botVoiceChannel(guildId), voiceId);
  });

  test('a user outside any voice channel is told so, privately, at once', async () => {
    const inv = fake.invokeCommand({ user: bobId, guild: guildId, channel: textId, name: 'narrate', options: { text: TEXT }, locale: 'vi' });
    const reply = await inv.replied();
    assert.ok(inv.latencyOf(reply) < 3000);
    const data = reply.data as { content: string; flags: number };
    assert.match(data.content, /^Hãy vào một kênh thoại trước/);
    assert.equal(data.flags & 64, 64, 'ephemeral');
  });

  test('voice autocomplete answers from the allow-list', async () => {
    const choices = await fake.autocomplete({
      user: aliceId,
      guild: guildId,
      channel: textId,
      name: 'narrate',
      options: { text: 'x', voice: 'fe' },
      focused: 'voice',
    });
    assert.deepEqual(choices, [{ name: 'female', value: 'female' }]);
  });

  test('SIGTERM: the bot leaves the voice channel and exits 0 within 10 s', async () => {
    // Exit 0 within 10 s, nothing escaped the handlers.
    await bot.stopCleanly();
    assert.equal(fake.botVoiceChannel(guildId), null, 'left the voice channel');
    assert.deepEqual(fake.problems, []);
  });
});
