/**
 * End to end, when the TTS worker misbehaves: the real bot (child process) against the fake Discord and the RunPod
 * emulator injecting faults. In every case the user is told in the narration's reply, the process stays up (a
 * later /narrate works) and no GPU job is left queued or running.
 *
 * - permanent: the chosen voice is not installed on the worker (`ref_not_found`) — failed at once, not retried;
 * - transient that recovers: the worker is busy once — re-submitted, the narration completes;
 * - transient that keeps failing on the 2nd of 3 chunks — the 1st is still played and attached, the user is told
 *   where it stopped;
 * - a job that hangs — the narration deadline (NARRATION_TIMEOUT_SEC, at its 10 s minimum, as JOB_TIMEOUT_SEC)
 *   stops it and cancels the job;
 * - every worker cold for longer than the defer window — deferred at once, "warming up" shown, then it completes.
 *
 * The failures run concurrently, one guild each, against one bot; the cold start needs an emulator whose workers
 * all start cold, hence a second fake Discord, emulator and bot. The slowest two (timeout, cold start) set the
 * file's duration.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { FakeDiscord, toMono } from './support/fakeDiscord/index.js';
import { commandDefinitions, contentOf, createVoiceGuild, pollUntil, startBot, type BotProcess } from './support/botHarness.js';
import { decodeTestWav, fakePitchHz, fakeSynthesize } from './support/fakeVoice.js';
import { heardSequence } from './support/narrationAudio.js';
import { latencyModel, startRunPodEmulator, type RunPodEmulator, type RunPodFault, type RunPodFaultContext } from './support/runpodEmulator.js';

const fastVoice = (text: string, speed: number): Uint8Array => fakeSynthesize(text, speed * 4);

const GHOST_TEXT = 'Hôm nay mình muốn kể cho các bạn nghe một câu chuyện ma.';
const BUSY_TEXT = 'Chiếc xe buýt số mười tám chạy chậm qua những con phố đông người.';
const PARTIAL = [
  'Ông lão đánh cá ra khơi từ lúc trời còn tối mịt và lạnh buốt.',
  'Ông thả lưới ba lần liền mà chẳng bắt được con cá nào cả.',
  'Đến lần thứ tư, ông kéo lên được một chiếc bình cổ bằng đồng.',
];
const HANG_TEXT = 'Cô bé ngồi đợi mẹ đi chợ về bên khung cửa sổ nhỏ cả buổi chiều.';
const COLD_TEXT = 'Buổi sáng đầu tiên của mùa đông, cả thành phố chìm trong sương mù.';
const AFTER_TEXT = 'Cuối cùng thì mọi chuyện cũng đã trở lại bình thường như trước.';

/** The faults of the warm worker, by chunk text. */
function fault(ctx: RunPodFaultContext): RunPodFault | undefined {
  const text = String(ctx.input['text']);
  if (text === BUSY_TEXT && ctx.attemptForText === 1) return { kind: 'seed-error', error: 'Server busy', afterMs: 100 };
  if (text === PARTIAL[1]) return { kind: 'seed-error', error: 'tts_failed', message: 'CUDA error: device-side assert triggered', afterMs: 150 };
  if (text === HANG_TEXT) return { kind: 'hang' };
  return undefined;
}

/**
 * How long the cold emulator's workers boot. The RunPod backend asks /health why a job is still queued once it has
 * waited 8 s (its long-poll is cut short for that), so the notice needs a cold start past that, with some margin.
 */
const COLD_START_MS = 11_000;

describe('e2e: the worker fails', () => {
  let fake: FakeDiscord;
  let runpod: RunPodEmulator;
  let bot: BotProcess;
  let coldFake: FakeDiscord;
  let coldRunpod: RunPodEmulator;
  let coldBot: BotProcess;

  before(async () => {
    const latency = latencyModel({ a: 250 });
    [runpod, coldRunpod, fake, coldFake] = await Promise.all([
      startRunPodEmulator({ workers: 8, synth: fastVoice, jobTimeMs: latency, fault }),
      startRunPodEmulator({ workers: 2, synth: fastVoice, jobTimeMs: latency, coldStartMs: COLD_START_MS }),
      FakeDiscord.start({ commands: commandDefinitions() }),
      FakeDiscord.start({ commands: commandDefinitions() }),
    ]);
    [bot, coldBot] = await Promise.all([
      // "ghost" is allowed here but not installed on the worker; the deadlines are at their minimums (10 s).
      startBot({ fake, runpod, env: { TTS_VOICES: 'narrator,female,ghost', NARRATION_TIMEOUT_SEC: '10', JOB_TIMEOUT_SEC: '10' } }),
      startBot({ fake: coldFake, runpod: coldRunpod }),
    ]);
  });

  after(async () => {
    await Promise.all([bot?.dispose(), coldBot?.dispose()]);
    await Promise.all([fake?.close(), coldFake?.close(), runpod?.close(), coldRunpod?.close()]);
  });

  /** A fresh guild with one user in voice, and a /narrate there; resolves once deferred (within 3 s). */
  const narrateIn = async (on: FakeDiscord, name: string, text: string, voice?: string) => {
    const world = createVoiceGuild(on, name, ['user']);
    const options: Record<string, string> = { text };
    if (voice) options['voice'] = voice;
    const inv = on.invokeCommand({ user: world.users['user']!, guild: world.guild.id, channel: world.text.id, name: 'narrate', options });
    const defer = await inv.deferred();
    assert.ok(inv.latencyOf(defer) < 3000, `deferred after ${Math.round(inv.latencyOf(defer))} ms`);
    return { world, inv };
  };
  const jobsFor = (emulator: RunPodEmulator, text: string) => emulator.jobs.filter((j) => j.input['text'] === text);

  describe('each failure, concurrently', { concurrency: true }, () => {
    test('permanent: a voice the worker does not have fails at once, without retries', async () => {
      const { inv } = await narrateIn(fake, 'Ghost', GHOST_TEXT, 'ghost');
      const final = await inv.waitForEdit((e) => contentOf(e).startsWith('❌'), 10_000);
      // Not "unknown voice" (it is on the allow-list): the worker lacks it, and the user is told so.
      assert.match(contentOf(final), /^❌ That voice is allowed here but not installed on the speech worker/);
      assert.deepEqual(final.files, []);
      assert.deepEqual(
        jobsFor(runpod, GHOST_TEXT).map((j) => j.status),
        ['FAILED'],
        'not retried',
      );
    });

    test('transient that recovers: the worker is busy once, the narration completes', async () => {
      const { inv } = await narrateIn(fake, 'Busy', BUSY_TEXT);
      const final = await inv.waitForEdit((e) => e.files.length > 0, 15_000);
      assert.match(contentOf(final), /^✅ Narrated/);
      assert.deepEqual(
        jobsFor(runpod, BUSY_TEXT).map((j) => j.status),
        ['FAILED', 'COMPLETED'],
        're-submitted once',
      );
    });

    test('transient that keeps failing: what was ready is played and attached, the user is told where it stopped', async () => {
      const { world, inv } = await narrateIn(fake, 'Partial', PARTIAL.join(' '));
      const final = await inv.waitForEdit((e) => contentOf(e).startsWith('⚠️') && e.files.length > 0, 15_000);
      assert.match(contentOf(final), /^⚠️ Stopped after part 1 of 3: The speech worker failed on this text\. The attachment holds what was read\./);
      // The first sentence was heard, nothing after it; the attachment holds that sentence alone.
      const heard = { sampleRate: 48_000, samples: toMono(fake.receivedAudio(world.guild.id)) };
      assert.deepEqual(heardSequence(heard, { P1: fakePitchHz(PARTIAL[0]!), P3: fakePitchHz(PARTIAL[2]!) }), ['P1']);
      const wav = decodeTestWav(final.files[0]!.bytes);
      const attached = wav.samples.length / wav.sampleRate;
      assert.ok(attached > 0.5 && attached < 1.5, `${attached} s attached`);
      assert.deepEqual(
        jobsFor(runpod, PARTIAL[1]!).map((j) => j.status),
        ['FAILED', 'FAILED'],
        'retried once, then given up',
      );
    });

    test('a job that hangs: the narration deadline stops it and cancels the job', async () => {
      const { inv } = await narrateIn(fake, 'Hang', HANG_TEXT);
      const final = await inv.waitForEdit((e) => contentOf(e).startsWith('❌'), 20_000);
      assert.match(contentOf(final), /^❌ The narration took too long and was stopped\./);
      const jobs = jobsFor(runpod, HANG_TEXT);
      assert.ok(jobs.length >= 1);
      // The deadline and the job's execution timeout are both 10 s: the job ends cancelled or timed out, never running.
      assert.ok(jobs.every((j) => j.status === 'CANCELLED' || j.status === 'TIMED_OUT'), jobs.map((j) => j.status).join());
    });

    test('cold workers: deferred at once, "warming up" shown while waiting, then the narration completes', async () => {
      const { inv } = await narrateIn(coldFake, 'Cold', COLD_TEXT);
      const notice = await inv.waitForEdit((e) => contentOf(e).includes('🧊 A worker is warming up (cold start)'), COLD_START_MS + 5_000);
      const final = await inv.waitForEdit((e) => e.files.length > 0, 15_000);
      assert.match(contentOf(final), /^✅ Narrated/);
      const [job] = jobsFor(coldRunpod, COLD_TEXT);
      assert.ok(job?.startedAt !== undefined && job.startedAt - job.submittedAt >= COLD_START_MS - 50, 'the job waited for a worker to boot');
      assert.ok(notice.receivedAt < job.startedAt, 'the notice came while the job was still waiting');
    });
  });

  test('afterwards: the bot still narrates, no job is left on the worker, it shuts down cleanly', async () => {
    const { inv } = await narrateIn(fake, 'After', AFTER_TEXT);
    assert.match(contentOf(await inv.waitForEdit((e) => e.files.length > 0, 15_000)), /^✅ Narrated/);
    await pollUntil(() => (runpod.activeJobs().length === 0 ? true : undefined), 5_000, 'no job left on the worker');
    assert.deepEqual(coldRunpod.activeJobs(), []);
    await Promise.all([bot.stopCleanly(), coldBot.stopCleanly()]);
    assert.deepEqual([...fake.problems, ...coldFake.problems], []);
  });
});
