/**
 * End to end, the player controls: the real bot (child process) against the fake Discord and the RunPod emulator.
 *
 * - ⏹ on the narration reply: the narration's jobs are cancelled (none left on the emulator), no voice packet
 *   follows, the reply says who stopped it and its buttons are gone.
 * - ⏯ pauses (no voice packet while paused; synthesis goes on), `/resume` continues where it paused: the narration
 *   is heard whole, compared with the engine's own audio — no word lost.
 * - ⏮ in the middle of a sentence replays it from its start, with no new job on the emulator.
 * - A member outside the bot's voice channel cannot press them; a button that outlived its narration answers
 *   quietly and does not touch the narration playing now.
 *
 * The four run concurrently, in four guilds of one bot.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { MessageFlags } from 'discord.js';
import { FakeDiscord, dominantFrequency, rms, toMono } from './support/fakeDiscord/index.js';
import type { Invocation, OptionValue, RecordedWrite } from './support/fakeDiscord/index.js';
import { commandDefinitions, contentOf, createVoiceGuild, pollUntil, startBot, type BotProcess, type VoiceGuild } from './support/botHarness.js';
import { fakePitchHz, fakeSynthesize } from './support/fakeVoice.js';
import { envelopeMatch, expectedNarration, seconds } from './support/narrationAudio.js';
import { latencyModel, startRunPodEmulator, type RunPodEmulator } from './support/runpodEmulator.js';

/** The fake voice, four times faster than the default one: whole narrations play in a few seconds. */
const fastVoice = (text: string, speed: number): Uint8Array => fakeSynthesize(text, speed * 4);

/** Slow on the worker (1.5 s a chunk, 2 jobs at a time): jobs are still queued and running when ⏹ is pressed. */
const STOPPED = Array.from({ length: 8 }, (_, i) => `Đoạn ${i + 1}: ông lão đánh cá kể chuyện biển khơi cho lũ trẻ nghe mỗi chiều hè.`);
const PAUSED = [
  'Buổi sáng, sương mù phủ kín cánh đồng lúa non xanh mướt.',
  'Đàn cò trắng bay lượn trên những thửa ruộng bậc thang.',
  'Người nông dân vác cuốc ra đồng khi trời còn chưa sáng hẳn.',
  'Chiều về, khói bếp bay lên từ những mái nhà tranh đơn sơ.',
];
/** The first sentence is split for a fast start: four chunks, the third one long enough to press ⏮ in its middle. */
const REPLAYED = [
  'Ngày xưa có một người thợ mộc sống bên bờ sông, ngày ngày đẽo gỗ làm thuyền cho cả làng chài nhỏ bé.',
  'Một hôm trời nổi giông bão, nước sông dâng cao cuốn trôi hết những chiếc thuyền mà ông đã dày công đóng suốt mùa hè năm ấy.',
  'Ông không nản lòng, sáng hôm sau lại cặm cụi chọn gỗ tốt và bắt đầu đóng chiếc thuyền mới chắc chắn hơn bao giờ hết.',
];
const GUARDED = ['Câu chuyện ngắn về con mèo nhỏ thích nằm phơi nắng bên hiên nhà.'];
const LATER = ['Bài thứ hai kể về chú chó vàng trung thành luôn chờ chủ ở đầu ngõ mỗi chiều.'];
const SLOW = new Set(STOPPED);

/** Every custom_id on a message as the bot last sent it (action rows → buttons). */
function customIds(write: RecordedWrite | undefined): string[] {
  const rows = ((write?.payload as { components?: unknown } | undefined)?.components ?? []) as { components?: { custom_id?: string }[] }[];
  return rows.flatMap((row) => (row.components ?? []).flatMap((c) => (c.custom_id ? [c.custom_id] : [])));
}

/** The reply's buttons, once it has them: `{ back, pause, skip, stop }` custom ids. */
async function buttonsOf(inv: Invocation): Promise<Record<'back' | 'pause' | 'skip' | 'stop', string>> {
  const edit = await inv.waitForEdit((e) => customIds(e).length === 4, 20_000);
  const ids = customIds(edit);
  const find = (action: string) => ids.find((id) => id.startsWith(`narrator:${action}:`))!;
  return { back: find('back'), pause: find('pause'), skip: find('skip'), stop: find('stop') };
}

/** The content of an immediate private reply (type 4, ephemeral). */
async function privateReply(inv: Invocation): Promise<string> {
  const callback = await inv.replied();
  const data = callback.data as { content?: string; flags?: number };
  assert.equal((data.flags ?? 0) & MessageFlags.Ephemeral, MessageFlags.Ephemeral, 'answered privately');
  return data.content ?? '';
}

describe('e2e: player controls', () => {
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
    bot = await startBot({ fake, runpod, env: { MAX_CONCURRENT_JOBS: '3', CACHE_MAX_MB: '0' } });
  });

  after(async () => {
    await bot?.dispose();
    await fake?.close();
    await runpod?.close();
  });

  const command = (world: VoiceGuild, user: string, name: string, options?: Record<string, OptionValue>): Invocation =>
    fake.invokeCommand({ user: world.users[user]!, guild: world.guild.id, channel: world.text.id, name, options });
  const narrate = (world: VoiceGuild, user: string, sentences: readonly string[], speed?: number) =>
    command(world, user, 'narrate', { text: sentences.join(' '), ...(speed !== undefined ? { speed } : {}) });
  const press = (world: VoiceGuild, user: string, inv: Invocation, customId: string, stale = false) =>
    fake.clickComponent({ user: world.users[user]!, message: inv.originalMessageId!, customId, stale });
  /** The emulator's jobs for these sentences (their chunks are parts of the joined text). */
  const jobsFor = (sentences: readonly string[]) => {
    const whole = sentences.join(' ');
    return runpod.jobs.filter((j) => whole.includes(String(j.input['text'])));
  };
  const packetsAfter = (guildId: string, at: number) =>
    fake.frames(guildId, { includeSilence: true, includeInaudible: true }).filter((f) => f.receivedAt > at);
  const noJobLeft = (sentences: readonly string[]) =>
    pollUntil(() => (jobsFor(sentences).every((j) => j.status !== 'IN_QUEUE' && j.status !== 'IN_PROGRESS') ? true : undefined), 5_000, 'no job left on the worker');

  describe('four guilds at once', { concurrency: true }, () => {
    test('⏹ cancels the narration’s jobs and silences the channel; the buttons are gone', async () => {
      const world = createVoiceGuild(fake, 'Dừng', ['alice']);
      const inv = narrate(world, 'alice', STOPPED);
      await inv.deferred();
      const buttons = await buttonsOf(inv);
      await fake.waitForFrames(world.guild.id, 25, 20_000);
      assert.ok(jobsFor(STOPPED).length < STOPPED.length, 'some chunks are not submitted yet');

      // The jobs on the worker when ⏹ is pressed (deadline-first scheduling may hold the later chunks back while the
      // other guilds' more urgent chunks run, so there may be none).
      const inFlight = jobsFor(STOPPED).filter((j) => j.status === 'IN_QUEUE' || j.status === 'IN_PROGRESS');
      const pressedAt = performance.now();
      await press(world, 'alice', inv, buttons.stop).deferredUpdate();
      const last = await inv.waitForEdit((e) => contentOf(e).startsWith('⏹️'), 5_000);
      const stoppedAt = performance.now();
      assert.match(contentOf(last), new RegExp(`^⏹️ Stopped by <@${world.users['alice']}>\\.`));
      assert.deepEqual(customIds(last), [], 'the final edit has no buttons');
      assert.ok(inv.edits.slice(0, -1).every((e) => customIds(e).length === 4), 'every progress edit kept them');
      assert.deepEqual(inv.original()?.components ?? [], [], 'nor has the message');
      await noJobLeft(STOPPED);
      for (const j of inFlight) {
        // Cancelled on the worker, unless it had already finished by the time the narration was stopped.
        assert.ok(j.status === 'CANCELLED' || (j.status === 'COMPLETED' && j.finishedAt! < stoppedAt), `job "${String(j.input['text'])}" ${j.status}`);
      }
      assert.deepEqual(jobsFor(STOPPED).filter((j) => j.submittedAt > stoppedAt), [], 'nothing submitted after ⏹');
      await sleep(1_500);
      assert.equal(packetsAfter(world.guild.id, pressedAt + 1_000).length, 0, 'no voice packet 1 s after ⏹');
    });

    test('⏯ pauses (no packets, synthesis goes on); /resume continues where it paused, no word lost', async () => {
      const world = createVoiceGuild(fake, 'Tạm dừng', ['vy']);
      const inv = narrate(world, 'vy', PAUSED);
      await inv.deferred();
      const buttons = await buttonsOf(inv);
      await fake.waitForFrames(world.guild.id, 50, 20_000); // one second in
      const pausedAt = performance.now();
      await press(world, 'vy', inv, buttons.pause).deferredUpdate();
      const pausedEdit = await inv.waitForEdit((e) => contentOf(e).includes(`⏸️ Paused by <@${world.users['vy']}>.`), 5_000);
      assert.equal(customIds(pausedEdit).length, 4, 'the paused reply keeps its buttons (⏯ resumes)');
      await pollUntil(() => (jobsFor(PAUSED).length > 0 && jobsFor(PAUSED).every((j) => j.status === 'COMPLETED') ? true : undefined), 15_000, 'every chunk synthesized while paused');
      await sleep(1_500);
      assert.equal(packetsAfter(world.guild.id, pausedAt + 1_000).length, 0, 'silent while paused');
      assert.equal(fake.botVoiceChannel(world.guild.id), world.voice.id, 'it stays in the channel');

      const resumed = command(world, 'vy', 'resume');
      assert.equal(contentOf(await resumed.replied()), `▶️ <@${world.users['vy']}> resumed the narration.`);
      const last = await inv.waitForEdit((e) => e.files.length > 0, 20_000);
      assert.match(contentOf(last), /^✅ Narrated/);
      assert.deepEqual(customIds(last), []);

      const heard = { sampleRate: 48_000, samples: toMono(fake.receivedAudio(world.guild.id)) };
      const want = await expectedNarration({ text: PAUSED.join(' '), voice: 'narrator', speed: 0.9, voices: ['narrator'], synth: fastVoice });
      const drift = Math.abs(seconds(heard) - seconds(want)) / seconds(want);
      assert.ok(drift < 0.03, `heard ${seconds(heard).toFixed(2)} s of ${seconds(want).toFixed(2)} s`);
      const match = envelopeMatch(heard, want);
      assert.ok(match.r > 0.9, `envelope correlation ${match.r.toFixed(3)} at ${match.lagMs} ms`);
    });

    test('⏮ in the middle of a sentence replays it, with no new job', async () => {
      const world = createVoiceGuild(fake, 'Quay lại', ['lan']);
      const inv = narrate(world, 'lan', REPLAYED, 0.5);
      await inv.deferred();
      const buttons = await buttonsOf(inv);
      const chunks = await pollUntil(() => (jobsFor(REPLAYED).length === 4 ? jobsFor(REPLAYED) : undefined), 20_000, 'the four chunks submitted');
      const whole = REPLAYED.join(' ');
      const texts = chunks.map((j) => String(j.input['text'])).sort((a, b) => whole.indexOf(a) - whole.indexOf(b));
      const third = texts[2]!;
      // Press once the third chunk has been heard for 1.2 s (well past its first second, well before its end).
      await pollUntil(() => (trailingRun(world.guild.id, texts) === third && trailingRunMs(world.guild.id) >= 1_200 ? true : undefined), 30_000, 'the third chunk 1.2 s in');
      await press(world, 'lan', inv, buttons.back).deferredUpdate();
      const last = await inv.waitForEdit((e) => e.files.length > 0, 30_000);
      assert.match(contentOf(last), /^✅ Narrated/);
      assert.equal(jobsFor(REPLAYED).length, 4, 'no new job for the replay');

      // Voiced runs between pauses, named by pitch: the engine's audio has the third chunk once, what was heard
      // has it twice in a row (cut short, then whole) and is otherwise the same.
      const label = (r: string) => String(texts.indexOf(r) + 1);
      const heardRuns = runs(toMono(fake.receivedAudio(world.guild.id)), 48_000, texts).map(label);
      const want = await expectedNarration({ text: whole, voice: 'narrator', speed: 0.5, voices: ['narrator'], synth: fastVoice });
      const wantRuns = runs(want.samples, want.sampleRate, texts).map(label);
      const count = (list: string[]) => list.filter((r) => r === '3').length;
      assert.equal(count(wantRuns), 1, `engine: ${wantRuns.join(' ')}`);
      assert.equal(count(heardRuns), 2, `heard: ${heardRuns.join(' ')} (engine: ${wantRuns.join(' ')})`);
      // From the third chunk on: it, again, then the rest as the engine made it. (Before it, the first two chunks —
      // one run in the engine's audio, two when a stall put a gap between them.)
      const from = heardRuns.indexOf('3');
      assert.deepEqual(heardRuns.slice(from), ['3', ...wantRuns.slice(wantRuns.indexOf('3'))], `heard: ${heardRuns.join(' ')} (engine: ${wantRuns.join(' ')})`);
      assert.ok(heardRuns.slice(0, from).every((r) => r === '1' || r === '2'), `heard: ${heardRuns.join(' ')}`);
    });

    test('a member outside the channel cannot press them; a stale button answers quietly and touches nothing', async () => {
      const world = createVoiceGuild(fake, 'Người ngoài', ['an', 'eve'], ['an']);
      const first = narrate(world, 'an', GUARDED);
      await first.deferred();
      const buttons = await buttonsOf(first);
      for (const id of [buttons.pause, buttons.stop, buttons.skip, buttons.back]) {
        assert.equal(await privateReply(press(world, 'eve', first, id)), 'Join my voice channel to control the narration.');
      }
      const done = await first.waitForEdit((e) => e.files.length > 0, 20_000);
      assert.match(contentOf(done), /^✅ Narrated/, 'the outsider changed nothing');

      const second = narrate(world, 'an', LATER);
      await second.deferred();
      await buttonsOf(second);
      const framesBefore = fake.frames(world.guild.id).length;
      await fake.waitForFrames(world.guild.id, framesBefore + 10, 20_000);
      // The first narration's buttons, from a client that still shows them: they must not stop the second one.
      for (const id of [buttons.stop, buttons.pause]) {
        assert.equal(await privateReply(press(world, 'an', first, id, true)), 'This narration has ended.');
      }
      assert.match(contentOf(await second.waitForEdit((e) => e.files.length > 0, 20_000)), /^✅ Narrated/);
    });
  });

  test('nothing left on the worker; the bot shuts down cleanly', async () => {
    assert.deepEqual(runpod.activeJobs(), []);
    assert.deepEqual(fake.voicePacketErrors, { stray: 0, decryptFailures: 0 });
    await bot.stopCleanly();
    assert.deepEqual(fake.problems, []);
  });

  /** Voiced runs (separated by ≥ 100 ms of silence), each named by the chunk whose pitch it has. */
  function runs(samples: Float32Array, sampleRate: number, texts: readonly string[]): string[] {
    const win = Math.round(sampleRate * 0.02);
    const out: string[] = [];
    let start = -1;
    let quiet = 0;
    const close = (end: number) => {
      if (start >= 0 && end - start >= sampleRate * 0.3) out.push(nearest(samples.subarray(start, end), sampleRate, texts));
      start = -1;
    };
    for (let at = 0; at + win <= samples.length; at += win) {
      const loud = rms(samples.subarray(at, at + win)) >= 0.01;
      if (loud) {
        if (start < 0) start = at;
        quiet = 0;
      } else if (start >= 0 && ++quiet >= 5) {
        close(at - (quiet - 1) * win);
      }
    }
    close(samples.length);
    return out;
  }

  /** The chunk whose pitch is nearest the run's dominant frequency (its middle, up to 1 s). */
  function nearest(run: Float32Array, sampleRate: number, texts: readonly string[]): string {
    const mid = Math.floor(run.length / 2);
    const half = Math.min(run.length, sampleRate) / 2;
    const hz = dominantFrequency(run.subarray(mid - half, mid + half), sampleRate);
    return [...texts].sort((a, b) => Math.abs(fakePitchHz(a) - hz) - Math.abs(fakePitchHz(b) - hz))[0]!;
  }

  /** The run being heard now in a guild: which chunk, and how long it has lasted. */
  function trailingRun(guildId: string, texts: readonly string[]): string | undefined {
    const tail = heardTail(guildId);
    return tail.length >= 48_000 * 0.2 ? nearest(tail, 48_000, texts) : undefined;
  }

  function trailingRunMs(guildId: string): number {
    return (heardTail(guildId).length / 48_000) * 1000;
  }

  /** The heard audio since the last silence of ≥ 100 ms (the last 10 s at most). */
  function heardTail(guildId: string): Float32Array {
    const all = toMono(fake.receivedAudio(guildId));
    const from = Math.max(0, all.length - 480_000);
    const win = 960;
    let quiet = 0;
    for (let at = all.length - win; at >= from; at -= win) {
      if (rms(all.subarray(at, at + win)) >= 0.01) quiet = 0;
      else if (++quiet >= 5) return all.subarray(at + quiet * win);
    }
    return all.subarray(from);
  }
});
