/**
 * End to end (issue 11): the synthesis look-ahead in the real bot process, against the fake Discord and the RunPod
 * emulator, with SYNTH_LOOKAHEAD_SEC=10 and fast workers (a job takes ~0.2 s, a chunk plays ~5 s).
 * - Half a second into a ~35 s narration, only the chunks due within the next ~10 s have been sent to the
 *   emulator (without the look-ahead, four workers at 0.2 s a job would have had every chunk by then); a /stop then
 *   leaves the rest unsynthesized, with no job left queued or running.
 * - The same narration played to the end: every chunk synthesized exactly once, and the listener hears the whole
 *   narration (compared with the engine's own audio), no stall long enough to matter.
 * Ends with no job left on the emulator, no voice connection and a clean shutdown.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { FakeDiscord, toMono } from './support/fakeDiscord/index.js';
import { commandDefinitions, contentOf, createVoiceGuild, pollUntil, startBot, type BotProcess } from './support/botHarness.js';
import { fakeSynthesize } from './support/fakeVoice.js';
import { envelopeMatch, expectedNarration, seconds } from './support/narrationAudio.js';
import { startRunPodEmulator, type RunPodEmulator } from './support/runpodEmulator.js';
import { prepareText } from '../src/services/text/index.js';

const voice = (text: string, speed: number): Uint8Array => fakeSynthesize(text, speed);
const SENTENCES = [
  'Chương một: ngày xưa, bên bờ sông Hồng, có một ngôi làng nhỏ sống bằng nghề chài lưới.',
  'Mỗi sớm tinh mơ, những chiếc thuyền nan lặng lẽ rời bến, mang theo hy vọng của cả xóm.',
  'Trưa đến, các bà các mẹ ngồi vá lưới dưới gốc gạo già, kể cho nhau nghe chuyện ngày mùa.',
  'Chiều về, lũ trẻ chạy ra bãi cát, reo hò đón cha anh trở về với những khoang cá đầy ắp.',
  'Tối xuống, cả làng quây quần bên bếp lửa, nghe ông trưởng làng kể chuyện cổ tích ngày xưa.',
  'Đêm khuya, chỉ còn tiếng sóng vỗ nhẹ vào mạn thuyền và ánh trăng vàng trải dài trên mặt nước.',
];
const TEXT = SENTENCES.join(' ');
const CHUNKS = prepareText(TEXT).chunks.map((c) => c.text);

describe('e2e: synthesis look-ahead', () => {
  let fake: FakeDiscord;
  let runpod: RunPodEmulator;
  let bot: BotProcess;

  before(async () => {
    runpod = await startRunPodEmulator({ workers: 4, jobTimeMs: () => 200, synth: voice });
    fake = await FakeDiscord.start({ commands: commandDefinitions() });
    bot = await startBot({ fake, runpod, env: { SYNTH_LOOKAHEAD_SEC: '10', MAX_CONCURRENT_JOBS: '4', CACHE_MAX_MB: '0', TTS_VOICES: 'narrator' } });
  });

  after(async () => {
    try {
      if (bot?.running) await bot.stopCleanly();
    } finally {
      await bot?.dispose();
      await fake?.close();
      await runpod?.close(); // rejects if a job is still queued or running
    }
  });

  const jobsOf = (guildJobs: Set<string>) => runpod.jobs.filter((j) => guildJobs.has(j.id));
  /** The emulator's jobs for this text submitted after `from` (each guild narrates the same text in turn). */
  const jobsSince = (from: number) => runpod.jobs.filter((j) => j.submittedAt >= from && CHUNKS.includes(String(j.input['text'])));

  test('half a second in, only the chunks due soon are synthesized; a /stop leaves the rest unpaid', async () => {
    assert.ok(CHUNKS.length >= 6, `${CHUNKS.length} chunks`);
    const world = createVoiceGuild(fake, 'Dừng', ['an']);
    const from = performance.now();
    const inv = fake.invokeCommand({ user: world.users.an!, guild: world.guild.id, channel: world.text.id, name: 'narrate', options: { text: TEXT } });
    await inv.deferred();
    await fake.waitForFrames(world.guild.id, 25, 20_000);
    const sent = jobsSince(from).length;
    assert.ok(sent < CHUNKS.length - 1, `${sent} of ${CHUNKS.length} chunks sent to the worker half a second into ~35 s of audio`);
    const stop = fake.invokeCommand({ user: world.users.an!, guild: world.guild.id, channel: world.text.id, name: 'stop' });
    await stop.replied();
    await inv.waitForEdit((e) => contentOf(e).startsWith('⏹️ Stopped'), 10_000);
    const mine = new Set(jobsSince(from).map((j) => j.id));
    await pollUntil(() => (jobsOf(mine).every((j) => j.status !== 'IN_QUEUE' && j.status !== 'IN_PROGRESS') ? true : undefined), 10_000, 'no job left on the worker');
    assert.ok(mine.size < CHUNKS.length - 1, `${mine.size} of ${CHUNKS.length} chunks paid for`);
  });

  test('played to the end: every chunk synthesized once, the whole narration heard', async () => {
    const world = createVoiceGuild(fake, 'Nghe hết', ['binh']);
    const from = performance.now();
    const inv = fake.invokeCommand({ user: world.users.binh!, guild: world.guild.id, channel: world.text.id, name: 'narrate', options: { text: TEXT } });
    await inv.deferred();
    assert.match(contentOf(await inv.waitForEdit((e) => e.files.length > 0, 120_000)), /^✅ Narrated/);
    const jobs = jobsSince(from);
    assert.deepEqual(jobs.map((j) => String(j.input['text'])).sort(), [...CHUNKS].sort(), 'each chunk once');
    const heard = { sampleRate: 48_000, samples: toMono(fake.receivedAudio(world.guild.id)) };
    const want = await expectedNarration({ text: TEXT, voice: 'narrator', speed: 0.9, voices: ['narrator'], synth: voice });
    const drift = Math.abs(seconds(heard) - seconds(want)) / seconds(want);
    assert.ok(drift < 0.03, `heard ${seconds(heard).toFixed(2)} s of ${seconds(want).toFixed(2)} s`);
    const match = envelopeMatch(heard, want);
    assert.ok(match.r > 0.9, `envelope correlation ${match.r.toFixed(3)} at ${match.lagMs} ms`);
  });
});
