/**
 * End to end: the real bot (`src/index.ts` in a child process: discord.js, @discordjs/voice, Opus) against the
 * offline fake Discord (real gateway, REST and voice protocols), with the offline espeak-ng backend.
 * A user in a voice channel runs /narrate: the reply is deferred at once, audio frames arrive in the voice channel
 * before the narration is finished, and the reply ends with the WAV attachment and the text; a refusal is
 * ephemeral and specific; SIGTERM shuts the bot down gracefully (leaves the voice channel, exit 0).
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { commands } from '../src/commands/index.js';
import { FakeDiscord, rms, toMono } from './support/fakeDiscord/index.js';
import { decodeTestWav } from './support/fakeVoice.js';

const ENTRY = fileURLToPath(new URL('../src/index.ts', import.meta.url));
const TSX = import.meta.resolve('tsx');
const TEXT = 'Xin chào các bạn. Hôm nay trời đẹp quá, chúng ta cùng nhau ra công viên đi dạo và ngắm hoa nhé!';

describe('the bot end to end', () => {
  let fake: FakeDiscord;
  let bot: ChildProcess;
  let cwd: string;
  let stderr = '';
  let guildId: string;
  let textId: string;
  let voiceId: string;
  let aliceId: string;
  let bobId: string;

  before(async () => {
    fake = await FakeDiscord.start({ commands: commands.map((c) => c.data.toJSON()) });
    const guild = fake.createGuild({ name: 'Làng' });
    guildId = guild.id;
    textId = fake.createChannel(guildId, { name: 'general', type: 'text' }).id;
    voiceId = fake.createChannel(guildId, { name: 'Lounge', type: 'voice' }).id;
    aliceId = fake.createUser({ username: 'alice', guilds: [guildId] }).id;
    bobId = fake.createUser({ username: 'bob', guilds: [guildId] }).id;
    fake.userJoinVoice(aliceId, voiceId);
    // An empty working directory: no developer .env, and the (disabled) cache writes nothing into the repo.
    cwd = await mkdtemp(join(tmpdir(), 'narrator-e2e-'));
    bot = spawn(process.execPath, ['--import', TSX, ENTRY], {
      cwd,
      env: fake.childEnv({
        DISCORD_TOKEN: fake.token,
        DISCORD_API_BASE_URL: fake.restUrl,
        TTS_BACKEND: 'local',
        TTS_VOICES: 'narrator,female',
        CACHE_MAX_MB: '0',
        LOG_LEVEL: 'info',
      }),
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    bot.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
    // Generous: a tsx child starts in 1–3 s alone, but much slower while the rest of the suite loads both cores.
    const exited = once(bot, 'exit').then(([code]) => {
      throw new Error(`the bot exited (${String(code)}) before connecting:\n${stderr}`);
    });
    await Promise.race([fake.waitForBotReady(60_000), exited]);
    exited.catch(() => undefined);
  });

  after(async () => {
    if (bot.exitCode === null) {
      bot.kill('SIGKILL');
      await once(bot, 'exit');
    }
    await fake.close();
    await rm(cwd, { recursive: true, force: true });
  });

  test('/narrate: deferred at once, audio streams into the voice channel, the reply ends with the WAV', async () => {
    const inv = fake.invokeCommand({ user: aliceId, guild: guildId, channel: textId, name: 'narrate', options: { text: TEXT } });
    const defer = await inv.deferred();
    assert.ok(inv.latencyOf(defer) < 3000, 'deferred within 3 s');
    const final = await inv.waitForEdit((e) => e.files.length > 0, 60_000);
    const firstAudio = fake.firstPacketAt(guildId);
    assert.ok(firstAudio !== undefined && firstAudio < final.receivedAt, 'audio played before the narration ended');

    const content = String(final.payload.content);
    assert.match(content, /^✅ Narrated · 0:0\d · voice \*\*narrator\*\* · speed 0\.9\n> Xin chào các bạn\./);
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
    const started = performance.now();
    bot.kill('SIGTERM');
    const [code] = (await once(bot, 'exit')) as [number | null];
    assert.equal(code, 0, stderr.slice(-2000));
    assert.ok(performance.now() - started < 10_000);
    assert.equal(fake.botVoiceChannel(guildId), null, 'left the voice channel');
    assert.deepEqual(fake.problems, []);
  });
});
