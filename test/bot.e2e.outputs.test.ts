/**
 * End to end (issue 12): the real bot process against the fake Discord and the RunPod emulator, for the outputs
 * that need no voice channel and for what the bot says about the backend.
 * - The emulator's workers start cold: the first narration's reply says the GPU is starting.
 * - `output:file` from a member in no voice channel: the reply ends with a playable WAV, the bot never joins voice.
 * - `output:voice_message`: a follow-up flagged IS_VOICE_MESSAGE (8192) with one Ogg Opus (mono, 48 kHz)
 *   attachment whose `duration_secs` matches the audio (read from the Ogg's own granule positions) within 0.1 s and
 *   whose `waveform` decodes to ≤ 256 bytes; the original reply keeps the text and the outcome.
 * - Without Send Voice Messages, the reply falls back to the file and says why.
 * - `/status` shows the emulator's worker and queue figures.
 * - No output given and no voice channel: the refusal names `output:file` and `output:voice_message`.
 * - `/stop` by the requester cancels a file narration (its GPU job too); shutdown cancels one and tells its user.
 * Ends with no job left on the emulator, no voice connection and a clean shutdown.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { FakeDiscord, rms } from './support/fakeDiscord/index.js';
import { commandDefinitions, contentOf, createVoiceGuild, pollUntil, startBot, type BotProcess, type VoiceGuild } from './support/botHarness.js';
import { decodeTestWav } from './support/fakeVoice.js';
import { startRunPodEmulator, type RunPodEmulator } from './support/runpodEmulator.js';

const TEXT = 'Xin chào các bạn. Hôm nay trời đẹp quá, chúng ta cùng nhau ra công viên đi dạo nhé!';
const IS_VOICE_MESSAGE = 8192;

/** Length of an Ogg Opus file from its own headers: (last granule − pre-skip) / 48 kHz; plus channels and rate. */
function oggOpusInfo(bytes: Uint8Array): { seconds: number; channels: number; inputRate: number } {
  const buf = Buffer.from(bytes);
  let at = 0;
  let lastGranule = 0n;
  let head: Buffer | undefined;
  while (at + 27 <= buf.length) {
    assert.equal(buf.toString('latin1', at, at + 4), 'OggS', `page at ${at}`);
    const granule = buf.readBigInt64LE(at + 6);
    const segments = buf[at + 26]!;
    let size = 0;
    for (let i = 0; i < segments; i++) size += buf[at + 27 + i]!;
    const body = at + 27 + segments;
    if (!head) head = buf.subarray(body, body + size);
    if (granule >= 0n) lastGranule = granule;
    at = body + size;
  }
  assert.ok(head && head.toString('latin1', 0, 8) === 'OpusHead', 'OpusHead first');
  const preSkip = head.readUInt16LE(10);
  return { seconds: Number(lastGranule - BigInt(preSkip)) / 48_000, channels: head[9]!, inputRate: head.readUInt32LE(12) };
}

describe('outputs without a voice channel, the cold-start notice and /status', () => {
  let fake: FakeDiscord;
  let runpod: RunPodEmulator;
  let bot: BotProcess;
  let world: VoiceGuild;

  before(async () => {
    // Cold workers: the first job waits while one boots (idle = running = 0 until then).
    // A text containing "chậm" (slow) takes a minute per job: long enough to be stopped mid-way.
    runpod = await startRunPodEmulator({ workers: 2, coldStartMs: 1_500, jobTimeMs: (input) => (String(input.text).includes('chậm') ? 60_000 : 150) });
    fake = await FakeDiscord.start({ commands: commandDefinitions() });
    // alice is in no voice channel; bob is.
    world = createVoiceGuild(fake, 'Làng', ['alice', 'bob'], ['bob']);
    bot = await startBot({ fake, runpod, env: { CACHE_MAX_MB: '0', TTS_VOICES: 'narrator' } });
  });

  after(async () => {
    try {
      if (bot?.running) await bot.stopCleanly();
      assert.equal(fake.botVoiceChannel(world.guild.id), null, 'no voice connection left');
    } finally {
      await bot?.dispose();
      await fake?.close();
      await runpod?.close(); // rejects if a job is still queued or running
    }
  });

  test('output:file with cold workers: "the GPU is starting", then a playable WAV, and never a voice join', async () => {
    const inv = fake.invokeCommand({ user: world.users.alice!, guild: world.guild.id, channel: world.text.id, name: 'narrate', options: { text: TEXT, output: 'file' } });
    await inv.deferred();
    const notice = await inv.waitForEdit((e) => /GPU is starting, first audio in about \d+ s/.test(contentOf(e)), 20_000);
    assert.equal(notice.files.length, 0);
    const final = await inv.waitForEdit((e) => e.files.length > 0, 60_000);
    assert.match(contentOf(final), /^✅ Narrated · 0:0\d · voice \*\*narrator\*\* · speed [\d.]+ · as a file\n```\nXin chào các bạn\./);
    assert.doesNotMatch(contentOf(final), /GPU is starting/, 'the notice is gone once audio is ready');
    const [file] = final.files;
    assert.equal(file!.name, 'narration.wav');
    const wav = decodeTestWav(file!.bytes);
    assert.ok(wav.samples.length / wav.sampleRate > 1, 'more than a second of audio');
    assert.ok(rms(wav.samples) > 0.01, 'not silence');
    assert.equal(fake.voiceRequests.length, 0, 'no op 4 (voice join) was ever sent');
    assert.equal(fake.botVoiceChannel(world.guild.id), null);
    assert.equal(runpod.activeJobs().length, 0);
  });

  test('output:voice_message: a follow-up flagged 8192 with one Ogg Opus attachment, duration and waveform', async () => {
    const inv = fake.invokeCommand({ user: world.users.alice!, guild: world.guild.id, channel: world.text.id, name: 'narrate', options: { text: TEXT, output: 'voice_message' } });
    await inv.deferred();
    const voice = await inv.waitForFollowUp((w) => ((w.payload.flags ?? 0) & IS_VOICE_MESSAGE) !== 0, 60_000);
    assert.equal(contentOf(voice), '', 'a voice message carries no text');
    assert.equal(voice.files.length, 1);
    const stored = voice.message!;
    assert.equal((stored.flags ?? 0) & IS_VOICE_MESSAGE, IS_VOICE_MESSAGE);
    assert.equal(stored.attachments.length, 1);
    const attachment = stored.attachments[0]! as { duration_secs?: number; waveform?: string };
    const bytes = voice.files[0]!.bytes;
    assert.equal(Buffer.from(bytes).toString('latin1', 0, 4), 'OggS');
    const ogg = oggOpusInfo(bytes);
    assert.equal(ogg.channels, 1, 'mono');
    assert.equal(ogg.inputRate, 48_000);
    assert.ok(ogg.seconds > 1, `${ogg.seconds} s`);
    assert.equal(typeof attachment.duration_secs, 'number');
    assert.ok(Math.abs(attachment.duration_secs! - ogg.seconds) < 0.1, `duration_secs ${attachment.duration_secs} vs audio ${ogg.seconds}`);
    const waveform = Buffer.from(attachment.waveform ?? '', 'base64');
    assert.ok(waveform.length > 0 && waveform.length <= 256, `${waveform.length} waveform bytes`);
    assert.ok(waveform.some((b) => b > 128), 'the waveform follows the audio (not flat)');

    // The original reply keeps the text and the outcome, without a file.
    const final = await inv.waitForEdit((e) => /voice message below/.test(contentOf(e)), 10_000);
    assert.match(contentOf(final), /```\nXin chào các bạn\./);
    assert.equal(fake.voiceRequests.length, 0, 'no voice join');
    assert.equal(runpod.activeJobs().length, 0);
  });

  test('output:voice_message without Send Voice Messages: the reply gets the file and says why', async () => {
    fake.setPermissions({ guild: world.guild.id, channel: world.text.id, deny: ['SendVoiceMessages'] });
    try {
      const inv = fake.invokeCommand({ user: world.users.alice!, guild: world.guild.id, channel: world.text.id, name: 'narrate', options: { text: 'Một câu ngắn thôi.', output: 'voice_message' } });
      await inv.deferred();
      const final = await inv.waitForEdit((e) => e.files.length > 0, 60_000);
      assert.match(contentOf(final), /could not post it as a voice message \(I lack the \*\*Send Voice Messages\*\* permission here\)/);
      assert.equal(final.files[0]!.name, 'narration.wav');
      assert.ok(!inv.followUps.some((w) => ((w.payload.flags ?? 0) & IS_VOICE_MESSAGE) !== 0), 'no voice message posted');
    } finally {
      fake.setPermissions({ guild: world.guild.id, channel: world.text.id, deny: [] });
    }
  });

  test('/status shows the emulator’s worker and queue figures', async () => {
    const inv = fake.invokeCommand({ user: world.users.alice!, guild: world.guild.id, channel: world.text.id, name: 'status', options: {} });
    const defer = await inv.deferred();
    assert.equal(((defer.data as { flags?: number } | undefined)?.flags ?? 0) & 64, 64, 'ephemeral');
    const edit = await inv.waitForEdit(() => true, 10_000);
    const h = runpod.health();
    const text = contentOf(edit);
    assert.match(text, new RegExp(`workers: ${h.workers.idle} idle, ${h.workers.running} running, ${h.workers.initializing} initializing, 0 throttled`));
    assert.match(text, new RegExp(`jobs: ${h.jobs.inQueue} in queue, ${h.jobs.inProgress} in progress`));
    assert.ok(h.workers.idle > 0, 'a worker is warm after the narrations');
    assert.match(text, /Narrations: 0 playing, 0 queued/);
    assert.match(text, /GPU slots: 0\/\d+ busy/);
    assert.match(text, /Uptime: /);
  });

  test('no output and no voice channel: told that output:file or output:voice_message work without one', async () => {
    const inv = fake.invokeCommand({ user: world.users.alice!, guild: world.guild.id, channel: world.text.id, name: 'narrate', options: { text: TEXT } });
    const reply = await inv.replied();
    const data = reply.data as { content: string; flags: number };
    assert.match(data.content, /`output:file` or `output:voice_message`/);
    assert.equal(data.flags & 64, 64, 'ephemeral');
  });

  test('/stop by the requester cancels a file narration and its GPU job', async () => {
    const inv = fake.invokeCommand({ user: world.users.alice!, guild: world.guild.id, channel: world.text.id, name: 'narrate', options: { text: 'Đọc thật chậm nhé.', output: 'file' } });
    await inv.deferred();
    await pollUntil(() => (runpod.activeJobs().length > 0 ? true : undefined), 20_000, 'the slow job to be submitted');
    const stop = fake.invokeCommand({ user: world.users.alice!, guild: world.guild.id, channel: world.text.id, name: 'stop', options: {} });
    const reply = await stop.replied();
    assert.match(contentOf(reply), /1/);
    const final = await inv.waitForEdit((e) => /Stopped|stopped/.test(contentOf(e)), 10_000);
    assert.equal(final.files.length, 0);
    await pollUntil(() => (runpod.activeJobs().length === 0 ? true : undefined), 10_000, 'the job to be cancelled');
    assert.equal(fake.voiceRequests.length, 0);
  });

  test('shutdown cancels a running file narration, tells its user, and leaves no job behind', async () => {
    const inv = fake.invokeCommand({ user: world.users.alice!, guild: world.guild.id, channel: world.text.id, name: 'narrate', options: { text: 'Lại đọc thật chậm.', output: 'voice_message' } });
    await inv.deferred();
    await pollUntil(() => (runpod.activeJobs().length > 0 ? true : undefined), 20_000, 'the slow job to be submitted');
    await bot.stopCleanly();
    const last = inv.edits.at(-1);
    assert.ok(last && /restart|shut/i.test(contentOf(last)), `the reply says the bot is shutting down: ${last ? contentOf(last) : '(none)'}`);
    assert.equal(runpod.activeJobs().length, 0, 'no job left on the emulator');
  });
});

describe('RUNPOD_WARM_ON_START in the real bot', () => {
  test('one tiny job at start-up; shutdown cancels it while it waits for a cold worker (none left on the emulator)', async () => {
    const runpod = await startRunPodEmulator({ workers: 1, coldStartMs: 120_000 });
    const fake = await FakeDiscord.start({ commands: commandDefinitions() });
    let bot: BotProcess | undefined;
    try {
      bot = await startBot({ fake, runpod, env: { CACHE_MAX_MB: '0', TTS_VOICES: 'narrator', RUNPOD_WARM_ON_START: '1' } });
      await pollUntil(() => (runpod.activeJobs().length === 1 ? true : undefined), 20_000, 'the warm-up job');
      assert.equal(runpod.jobs.length, 1, 'exactly one warm-up job');
      await bot.stopCleanly();
      assert.equal(runpod.activeJobs().length, 0, 'the warm-up job was cancelled at shutdown');
      assert.equal(runpod.jobs[0]!.status, 'CANCELLED');
    } finally {
      await bot?.dispose();
      await fake.close();
      await runpod.close();
    }
  });
});
