/**
 * End to end, the main path and its edges: the real bot (child process: discord.js, @discordjs/voice, Opus) against
 * the fake Discord, with the RunPod emulator as the TTS worker.
 *
 * - A multi-sentence Vietnamese /narrate: deferred within 3 s, progress edits, audio in the caller's voice channel
 *   before the last chunk is synthesized, the audio heard is the engine's narration (same length, same envelope),
 *   and the final reply carries it as a playable WAV.
 * - Autocomplete of `voice` with 30 configured voices: within 3 s, at most 25 choices, filtered by what was typed.
 * - Every refusal before a narration starts: a specific, private message and nothing left behind (no voice
 *   connection, no job on the worker, an empty queue).
 *
 * One bot serves the file; the three parts run concurrently, each in its own guild, so no state carries over.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { FakeDiscord, toMono } from './support/fakeDiscord/index.js';
import { commandDefinitions, contentOf, createVoiceGuild, startBot, type BotProcess } from './support/botHarness.js';
import { decodeTestWav, fakeSynthesize } from './support/fakeVoice.js';
import { envelopeMatch, expectedNarration, seconds } from './support/narrationAudio.js';
import { latencyModel, startRunPodEmulator, type RunPodEmulator } from './support/runpodEmulator.js';

/** 30 voices: more than Discord's 25 autocomplete choices. The first is the default. */
const VOICES = [
  'narrator', 'female', 'male', 'ngoc-anh', 'ngoc-lan', 'nguyet', 'ngan', 'hang', 'trang', 'phuong',
  'linh', 'lan', 'mai', 'minh', 'nam', 'hai', 'hoa', 'hung', 'khanh', 'long',
  'quan', 'son', 'thao', 'thu', 'tuan', 'van', 'viet', 'vy', 'yen', 'duc',
];
/** The fake voice, four times faster than the default one: whole narrations play in a few seconds. */
const fastVoice = (text: string, speed: number): Uint8Array => fakeSynthesize(text, speed * 4);
/** Four sentences, four chunks; the last one is slow to synthesize (see jobTimeMs below). */
const STORY = [
  'Sáng nay trời trong xanh, gió nhẹ thổi qua những hàng cây ven hồ.',
  'Bà tôi ra chợ từ sớm để mua rau tươi và mấy con cá rô đồng.',
  'Chiều về, lũ trẻ trong xóm rủ nhau ra bờ đê thả diều rất vui.',
  'Tối đến, cả nhà quây quần bên mâm cơm và kể cho nhau nghe chuyện trong ngày.',
];
const SLOW_CHUNK_MS = 3_000;

describe('e2e: /narrate, autocomplete and refusals', () => {
  let fake: FakeDiscord;
  let runpod: RunPodEmulator;
  let bot: BotProcess;

  before(async () => {
    const latency = latencyModel({ a: 300 });
    runpod = await startRunPodEmulator({
      workers: 6,
      synth: fastVoice,
      // ~300 ms per chunk, like a warm GPU; the story's last chunk takes 3 s, so playback provably starts first.
      jobTimeMs: (input) => (String(input['text']).includes('quây quần') ? SLOW_CHUNK_MS : latency(input)),
    });
    fake = await FakeDiscord.start({ commands: commandDefinitions() });
    bot = await startBot({ fake, runpod, env: { TTS_VOICES: VOICES.join(',') } });
  });

  after(async () => {
    await bot?.dispose();
    await fake?.close();
    await runpod?.close();
  });

  describe('concurrently, one guild each', { concurrency: true }, () => {
    test('/narrate streams a Vietnamese story into the voice channel and replies with the same audio', async () => {
      const { guild, text, voice, users } = createVoiceGuild(fake, 'Hà Nội', ['alice']);
      const story = STORY.join(' ');
      const expected = expectedNarration({ text: story, voice: 'narrator', speed: 0.9, voices: VOICES, synth: fastVoice });

      const inv = fake.invokeCommand({ user: users['alice']!, guild: guild.id, channel: text.id, name: 'narrate', options: { text: story } });
      const defer = await inv.deferred();
      assert.ok(inv.latencyOf(defer) < 3000, `deferred after ${Math.round(inv.latencyOf(defer))} ms`);
      const final = await inv.waitForEdit((e) => e.files.length > 0, 30_000);

      // Streaming: the first audible packet came before the worker finished the last chunk.
      const jobs = runpod.jobs.filter((j) => STORY.includes(String(j.input['text'])));
      assert.equal(jobs.length, STORY.length, 'one job per sentence');
      const lastJobDone = Math.max(...jobs.map((j) => j.finishedAt ?? Infinity));
      const firstPacket = fake.firstPacketAt(guild.id);
      assert.ok(firstPacket !== undefined, 'audio reached the voice channel');
      assert.ok(firstPacket < lastJobDone, `first packet ${Math.round(lastJobDone - firstPacket)} ms before the last chunk was ready`);
      assert.deepEqual(
        jobs.map((j) => j.status),
        STORY.map(() => 'COMPLETED'),
      );

      // Progress: the reply said what was happening before it said it was done.
      const progress = inv.edits.filter((e) => e !== final).map(contentOf);
      assert.ok(progress.some((c) => c.startsWith(`▶️ Playing in <#${voice.id}>`)), progress.join('\n---\n'));
      assert.match(contentOf(final), /^✅ Narrated · 0:0\d · voice \*\*narrator\*\* · speed 0\.9\n```\nSáng nay trời trong xanh/);

      // The attachment is a playable WAV holding exactly the engine's narration.
      const want = await expected;
      const [file] = final.files;
      assert.equal(file?.name, 'narration.wav');
      const wav = decodeTestWav(file.bytes);
      assert.equal(wav.channels, 1);
      assert.equal(wav.sampleRate, want.sampleRate);
      assert.equal(wav.samples.length, want.samples.length, 'same length as the engine’s narration');
      let maxDiff = 0;
      for (let i = 0; i < want.samples.length; i++) maxDiff = Math.max(maxDiff, Math.abs(wav.samples[i]! - want.samples[i]!));
      assert.ok(maxDiff < 2e-4, `samples differ by up to ${maxDiff} (16-bit rounding is 3e-5)`);

      // What a listener heard is that narration: the same length, the same envelope.
      const heard = { sampleRate: 48_000, samples: toMono(fake.receivedAudio(guild.id)) };
      const drift = Math.abs(seconds(heard) - seconds(want)) / seconds(want);
      assert.ok(drift < 0.03, `heard ${seconds(heard).toFixed(2)} s, the engine made ${seconds(want).toFixed(2)} s`);
      const match = envelopeMatch(heard, want);
      assert.ok(match.r > 0.9, `envelope correlation ${match.r.toFixed(3)} at ${match.lagMs} ms`);
      // The measure tells narrations apart: the same audio with its halves swapped (chunks out of order) is far off.
      const half = Math.floor(want.samples.length / 2);
      const swapped = new Float32Array(want.samples.length);
      swapped.set(want.samples.subarray(half));
      swapped.set(want.samples.subarray(0, half), want.samples.length - half);
      const control = envelopeMatch(heard, { sampleRate: want.sampleRate, samples: swapped });
      assert.ok(control.r < 0.8, `control correlation ${control.r.toFixed(3)}`);

      assert.equal(fake.botVoiceChannel(guild.id), voice.id, 'joined the caller’s channel');
      assert.deepEqual(fake.voicePacketErrors, { stray: 0, decryptFailures: 0 });
    });

    test('voice autocomplete answers within 3 s with at most 25 choices, filtered by what was typed', async () => {
      const { guild, text, users } = createVoiceGuild(fake, 'Autocomplete', ['tam']);
      const ask = async (typed: string) => {
        const started = performance.now();
        const choices = await fake.autocomplete({
          user: users['tam']!,
          guild: guild.id,
          channel: text.id,
          name: 'narrate',
          options: { text: 'Xin chào', voice: typed },
          focused: 'voice',
        });
        assert.ok(performance.now() - started < 3000);
        return choices;
      };

      const all = await ask('');
      assert.equal(all.length, 25, 'Discord shows at most 25');
      assert.deepEqual(all[0], { name: 'narrator ★', value: 'narrator' }, 'the default first, marked');
      assert.deepEqual(
        all.map((c) => c.value),
        VOICES.slice(0, 25),
      );

      // Prefix matches first, then names containing what was typed; case does not matter.
      const ng = await ask('NG');
      assert.deepEqual(
        ng.map((c) => c.value),
        ['ngoc-anh', 'ngoc-lan', 'nguyet', 'ngan', 'hang', 'trang', 'phuong', 'hung', 'long'],
      );
      assert.ok(ng.every((c) => c.name === c.value));
      assert.deepEqual(await ask('zz'), []);
    });

    test('refusals: each says what is wrong, privately, at once, and leaves nothing behind', async () => {
      const { guild, text, voice, users } = createVoiceGuild(fake, 'Refusals', ['rin', 'outsider'], ['rin']);
      const refused = 'Xin chào các bạn thân mến.';
      const narrate = (user: string, options: Record<string, string | number>) =>
        fake.invokeCommand({ user: users[user]!, guild: guild.id, channel: text.id, name: 'narrate', options: { text: refused, ...options } });
      const refusal = async (user: string, options: Record<string, string | number>): Promise<string> => {
        // Private (answeredPrivately rejects a public answer) and acknowledged within Discord's 3 s: at once, or —
        // for a refusal found by the slower checks on a loaded machine — after a defer, as a private follow-up.
        return (await narrate(user, options).answeredPrivately()).content;
      };

      assert.equal(await refusal('outsider', {}), 'Join a voice channel first, then use `/narrate` again — or use `output:file` or `output:voice_message`, which work without one.');

      fake.setPermissions({ guild: guild.id, channel: voice.id, deny: ['Connect'] });
      assert.match(await refusal('rin', {}), new RegExp(`^I do not have permission to connect in <#${voice.id}>\\. Ask an admin`));
      fake.setPermissions({ guild: guild.id, channel: voice.id, deny: ['Speak'] });
      assert.match(await refusal('rin', {}), new RegExp(`^I do not have permission to speak in <#${voice.id}>\\.`));
      fake.setPermissions({ guild: guild.id, channel: voice.id }); // overwrite removed: allowed again

      const nothing = 'There is nothing to read aloud: the text is empty after removing links, emoji and formatting.';
      assert.equal(await refusal('rin', { text: '   ' }), nothing);
      assert.equal(await refusal('rin', { text: '😀🎉 **__~~ ~~__** || || <:smile:123456789012345678> https://example.com/x' }), nothing);

      assert.equal(await refusal('rin', { voice: 'giong-la' }), `Unknown voice. Choose one of: ${VOICES.join(', ')}.`);

      // Over the length limit and speed out of range never reach the bot: it registered max_length 6000 and
      // min/max 0.5–2, which Discord's client enforces (the fake refuses like it). The engine's own checks for these
      // (orchestrator.plan) are covered by the orchestrator tests.
      assert.throws(() => narrate('rin', { text: 'a'.repeat(6001) }), /must be 0–6000 characters/);
      assert.throws(() => narrate('rin', { speed: 2.5 }), /must be within \[0\.5, 2\]/);
      assert.throws(() => narrate('rin', { speed: 0.4 }), /must be within \[0\.5, 2\]/);

      // Nothing left behind: no voice connection was even attempted, no job reached the worker, the queue is empty.
      assert.equal(fake.botVoiceChannel(guild.id), null);
      assert.deepEqual(fake.voiceRequests.filter((r) => r.guildId === guild.id), []);
      assert.equal(runpod.jobs.filter((j) => j.input['text'] === refused).length, 0);
      const queue = fake.invokeCommand({ user: users['rin']!, guild: guild.id, channel: text.id, name: 'queue' });
      assert.equal(contentOf(await queue.replied()), 'The queue is empty.');
      // The bot still works here once the problem is fixed.
      const ok = narrate('rin', { text: 'Cảm ơn các bạn đã lắng nghe câu chuyện hôm nay.' });
      await ok.deferred();
      assert.match(contentOf(await ok.waitForEdit((e) => e.files.length > 0, 20_000)), /^✅ Narrated/);
    });
  });

  test('nothing left on the worker; the bot shuts down cleanly', async () => {
    assert.deepEqual(runpod.activeJobs(), []);
    await bot.stopCleanly();
    assert.deepEqual(fake.problems, []);
  });
});
