/**
 * End to end (issue 11): a narration whose audio exceeds the server's upload limit even as Ogg Opus, through the
 * real bot process, the fake Discord (which enforces `attachment_size_limit` per file and 10 files per message) and
 * the RunPod emulator. The reply says the audio came in N parts and why and carries part 1; parts 2…N follow as
 * messages of the same interaction. Each part is under the limit, each is a valid Ogg Opus file a real decoder
 * plays on its own, and played one after the other they are the whole narration (compared with what the engine
 * makes for the same text, by loudness envelope, and by length). A limit too small for any part says so.
 * Ends with no job left on the emulator, no temp file and a clean shutdown.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { readdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { FakeDiscord } from './support/fakeDiscord/index.js';
import { commandDefinitions, contentOf, createVoiceGuild, startBot, type BotProcess, type VoiceGuild } from './support/botHarness.js';
import { fakeSynthesize } from './support/fakeVoice.js';
import { envelopeMatch, expectedNarration, seconds } from './support/narrationAudio.js';
import { decodeOggOpusFile } from './support/oggOpusFile.js';
import { startRunPodEmulator, type RunPodEmulator } from './support/runpodEmulator.js';
import type { MonoAudio } from '../src/services/audio/types.js';

const voice = (text: string, speed: number): Uint8Array => fakeSynthesize(text, speed);
const STORY = [
  'Ngày xưa, ở một làng nhỏ ven sông, có một cậu bé tên là Minh.',
  'Mỗi sáng, cậu dậy thật sớm để giúp mẹ ra đồng, mang theo nắm cơm và bình nước.',
  'Buổi chiều, cậu ngồi dưới gốc đa đầu làng, nghe các cụ kể chuyện ngày xưa.',
  'Một hôm, trời đổ mưa to, nước sông dâng cao và cả làng lo lắng không yên.',
  'Minh cùng các bạn chạy khắp xóm, báo tin cho mọi người mang đồ lên chỗ cao.',
  'Sáng hôm sau, mưa tạnh, nắng lên, cả làng lại rộn rã tiếng cười nói.',
].join(' ');
/** Ogg Opus is ~4 kB/s: a limit of 24 kB makes the ~25 s story's ~100 kB file come in several parts. */
const LIMIT = 24 * 1024;

describe('audio too large for one file: it comes in parts', () => {
  let fake: FakeDiscord;
  let runpod: RunPodEmulator;
  let bot: BotProcess;
  let world: VoiceGuild;

  before(async () => {
    runpod = await startRunPodEmulator({ workers: 2, jobTimeMs: () => 50, synth: voice });
    fake = await FakeDiscord.start({ commands: commandDefinitions() });
    world = createVoiceGuild(fake, 'Làng', ['alice'], []);
    bot = await startBot({ fake, runpod, env: { CACHE_MAX_MB: '0', TTS_VOICES: 'narrator' } });
  });

  after(async () => {
    try {
      if (bot?.running) await bot.stopCleanly();
      const pid = bot?.child.pid;
      const leftovers = (await readdir(tmpdir())).filter((n) => n.startsWith(`narrator-rec-${pid}-`));
      assert.deepEqual(leftovers, [], 'no recording left in the temp folder');
    } finally {
      await bot?.dispose();
      await fake?.close();
      await runpod?.close(); // rejects if a job is still queued or running
    }
  });

  test('WAV and Ogg over the limit: N parts, each under it, each playable, together the whole narration', async (t) => {
    fake.setAttachmentSizeLimit(world.guild.id, LIMIT);
    const inv = fake.invokeCommand({ user: world.users.alice!, guild: world.guild.id, channel: world.text.id, name: 'narrate', options: { text: STORY, output: 'file' } });
    await inv.deferred();
    const final = await inv.waitForEdit((e) => e.files.length > 0, 60_000);
    const said = /the audio comes in (\d+) parts, each playable on its own/.exec(contentOf(final));
    assert.ok(said, `the reply says the audio came in parts: ${contentOf(final)}`);
    assert.match(contentOf(final), /upload limit/, 'and why');
    const parts = Number(said[1]);
    assert.ok(parts >= 3, `${parts} parts`);
    assert.equal(final.files.length, 1, 'one part per message');
    assert.equal(final.files[0]!.name, `narration-part1-of-${parts}.ogg`);
    // Parts are posted in order: once the last one is there, all are.
    await inv.waitForFollowUp((w) => w.files[0]?.name === `narration-part${parts}-of-${parts}.ogg`, 30_000);
    const followUps = inv.followUps.filter((w) => w.files.length > 0);
    assert.equal(followUps.length, parts - 1);
    const files = [final.files[0]!, ...followUps.map((w, i) => {
      assert.equal(w.files.length, 1);
      assert.equal(contentOf(w), `🎧 Narration audio, part ${i + 2}/${parts}.`);
      return w.files[0]!;
    })];
    const decoded: MonoAudio[] = files.map((f, i) => {
      assert.equal(f.name, `narration-part${i + 1}-of-${parts}.ogg`);
      assert.ok(f.bytes.byteLength <= LIMIT, `part ${i + 1}: ${f.bytes.byteLength} bytes ≤ ${LIMIT}`);
      const part = decodeOggOpusFile(f.bytes).audio;
      assert.ok(seconds(part) > 1, `part ${i + 1} holds audio of its own (${seconds(part).toFixed(2)} s)`);
      return part;
    });
    const whole = new Float32Array(decoded.reduce((n, d) => n + d.samples.length, 0));
    let at = 0;
    for (const d of decoded) {
      whole.set(d.samples, at);
      at += d.samples.length;
    }
    const heard: MonoAudio = { sampleRate: 48_000, samples: whole };
    const want = await expectedNarration({ text: STORY, voice: 'narrator', speed: 0.9, voices: ['narrator'], synth: voice });
    assert.ok(Math.abs(seconds(heard) - seconds(want)) < 0.05, `the parts last ${seconds(heard).toFixed(3)} s, the narration ${seconds(want).toFixed(3)} s`);
    const match = envelopeMatch(heard, want);
    t.diagnostic(`${parts} parts (${files.map((f) => f.bytes.byteLength).join(', ')} bytes), ${seconds(heard).toFixed(2)} s, envelope r = ${match.r.toFixed(4)}`);
    assert.ok(match.r > 0.95, `the parts together sound like the narration (r = ${match.r.toFixed(3)}, lag ${match.lagMs} ms)`);
    assert.equal(runpod.activeJobs().length, 0);
  });

  test('a limit too small for even one part of a page: the reply says the audio is too large', async () => {
    fake.setAttachmentSizeLimit(world.guild.id, 4 * 1024);
    const inv = fake.invokeCommand({ user: world.users.alice!, guild: world.guild.id, channel: world.text.id, name: 'narrate', options: { text: STORY, output: 'file' } });
    await inv.deferred();
    const final = await inv.waitForEdit((e) => /too large to attach/.test(contentOf(e)), 60_000);
    assert.equal(final.files.length, 0);
    assert.equal(inv.followUps.filter((w) => w.files.length > 0).length, 0);
    assert.equal(runpod.activeJobs().length, 0);
  });
});
