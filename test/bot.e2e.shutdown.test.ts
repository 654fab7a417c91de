/**
 * Graceful shutdown with paid GPU jobs in flight, end to end: the real bot (child process) against the fake
 * Discord and the RunPod emulator. A narration is synthesizing on two busy workers and another is queued behind
 * it when SIGTERM arrives: every RunPod job is cancelled (none left running to bill), both requesters' replies
 * say the bot is shutting down, the bot leaves the voice channel, and the process exits 0 within 10 s.
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
import { FakeDiscord } from './support/fakeDiscord/index.js';
import { startRunPodEmulator, type RunPodEmulator } from './support/runpodEmulator.js';

const ENTRY = fileURLToPath(new URL('../src/index.ts', import.meta.url));
const TSX = import.meta.resolve('tsx');
const sentence = (i: number) =>
  `Câu thứ ${i} kể về một ngày dài ở làng quê, khi mọi người cùng nhau ra đồng gặt lúa và trò chuyện rôm rả dưới bóng cây đa già đầu làng.`;

describe('shutdown with RunPod jobs in flight', () => {
  let fake: FakeDiscord;
  let runpod: RunPodEmulator;
  let bot: ChildProcess;
  let cwd: string;
  let stderr = '';

  before(async () => {
    // Jobs take a minute: they are certainly running (and billing) when the bot is stopped.
    runpod = await startRunPodEmulator({ workers: 2, jobTimeMs: () => 60_000 });
    fake = await FakeDiscord.start({ commands: commands.map((c) => c.data.toJSON()) });
    cwd = await mkdtemp(join(tmpdir(), 'narrator-e2e-'));
  });

  after(async () => {
    if (bot && bot.exitCode === null) {
      bot.kill('SIGKILL');
      await once(bot, 'exit');
    }
    await fake.close();
    await runpod.close();
    await rm(cwd, { recursive: true, force: true });
  });

  test('SIGTERM cancels every RunPod job, tells the waiting users, leaves voice, exits 0 in time', async () => {
    const guild = fake.createGuild({ name: 'Làng' });
    const text = fake.createChannel(guild.id, { name: 'general', type: 'text' });
    const voice = fake.createChannel(guild.id, { name: 'Lounge', type: 'voice' });
    const alice = fake.createUser({ username: 'alice', guilds: [guild.id] });
    const bob = fake.createUser({ username: 'bob', guilds: [guild.id] });
    fake.userJoinVoice(alice.id, voice.id);
    fake.userJoinVoice(bob.id, voice.id);
    bot = spawn(process.execPath, ['--import', TSX, ENTRY], {
      cwd,
      env: fake.childEnv({
        DISCORD_TOKEN: fake.token,
        DISCORD_API_BASE_URL: fake.restUrl,
        TTS_BACKEND: 'runpod',
        RUNPOD_API_KEY: runpod.apiKey,
        RUNPOD_ENDPOINT_ID: runpod.endpointId,
        RUNPOD_BASE_URL: runpod.baseUrl,
        CACHE_MAX_MB: '0',
        LOG_LEVEL: 'info',
      }),
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    bot.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
    const exited = once(bot, 'exit').then(([code]) => {
      throw new Error(`the bot exited (${String(code)}) early:\n${stderr}`);
    });
    exited.catch(() => undefined);
    await Promise.race([fake.waitForBotReady(60_000), exited]);

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
    await fake.waitFor(() => (runpod.activeJobs().filter((j) => j.status === 'IN_PROGRESS').length >= 2 ? true : undefined), 10_000, 'two jobs running');
    assert.equal(runpod.jobs.length, 3, 'the first narration’s three chunks; the queued one costs nothing yet');

    const started = performance.now();
    bot.kill('SIGTERM');
    const [code] = (await once(bot, 'exit')) as [number | null];
    const took = performance.now() - started;
    assert.equal(code, 0, stderr.slice(-2000));
    assert.ok(took < 10_000, `exited after ${Math.round(took)} ms`);

    assert.deepEqual(runpod.activeJobs(), [], 'no RunPod job left queued or running');
    assert.ok(runpod.jobs.every((j) => j.status === 'CANCELLED'), runpod.jobs.map((j) => j.status).join(', '));
    for (const inv of [first, second]) {
      assert.match(String(inv.edits.at(-1)?.payload.content), /^🛑 Cancelled: the bot is shutting down/);
    }
    assert.equal(fake.botVoiceChannel(guild.id), null, 'left the voice channel');
    assert.deepEqual(fake.problems, []);
  });
});
