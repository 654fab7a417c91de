/**
 * Several voices in one /narrate (issue 11, part 3), end to end: the real bot (child process) against the fake
 * Discord and the RunPod emulator, with its SQLite database in a file the test owns.
 *
 * - `/settings alias name:Minh voice:male_north_2`, then `/narrate` with `[narrator] … [Minh] … Lan: …`: the jobs
 *   carry the narrator's, then the aliased voice's `ref_name` (the script form reads as Lan's alias too), in text
 *   order, and the final reply names every voice heard.
 * - An unknown tag: a private refusal naming the tag and the known names (English and Vietnamese), and no job.
 * - A script playing when SIGTERM arrives continues after the restart with the server's aliases: the lines left are
 *   synthesized in their own voices, and the reply still names every voice.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FakeDiscord, type Invocation } from './support/fakeDiscord/index.js';
import { commandDefinitions, contentOf, createVoiceGuild, pollUntil, startBot, type BotProcess } from './support/botHarness.js';
import { startRunPodEmulator, type RunPodEmulator } from './support/runpodEmulator.js';
import { fakeSynthesize } from './support/fakeVoice.js';

/** Short audio for every job: playback (real time) stays quick whatever the text. */
const quickVoice = () => fakeSynthesize('xin chào', 2);
const VOICES = ['narrator', 'male_north_2', 'female_south'];

/** The answer of a command that defers (ephemerally) and then edits its reply: the edit's text. */
async function answered(inv: Invocation): Promise<string> {
  const first = await inv.acknowledged();
  if (first.type === 4) return contentOf(first);
  return contentOf(await inv.waitForEdit(() => true, 15_000));
}

describe('several voices in one /narrate, end to end (SQLite)', () => {
  let fake: FakeDiscord;
  let runpod: RunPodEmulator;
  let bot: BotProcess | undefined;
  let dbDir: string;

  before(async () => {
    runpod = await startRunPodEmulator({ workers: 3, jobTimeMs: () => 100, synth: quickVoice, voices: VOICES });
    fake = await FakeDiscord.start({ commands: commandDefinitions() });
    dbDir = await mkdtemp(join(tmpdir(), 'narrator-voices-db-'));
    bot = await startBot({
      fake,
      runpod,
      // One job at a time: the emulator receives them in the order they were started (text order).
      env: { DATABASE_URL: `sqlite:${join(dbDir, 'narrator.db')}`, CACHE_MAX_MB: '0', TTS_VOICES: VOICES.join(','), MAX_CONCURRENT_JOBS: '1' },
    });
  });

  after(async () => {
    await bot?.dispose();
    await fake.close();
    await runpod.close();
    await rm(dbDir, { recursive: true, force: true });
  });

  test('a stored alias: [Minh] and "Lan:" read in their voices, in order; the reply names every voice', async () => {
    const { guild, text, users } = createVoiceGuild(fake, 'Xóm nhỏ', ['alice']);
    const alias = (name: string, voice: string) =>
      answered(fake.invokeCommand({ user: guild.ownerId, guild: guild.id, channel: text.id, name: 'settings', subcommand: 'alias', options: { name, voice } }));
    assert.equal(await alias('Minh', 'male_north_2'), '✅ `[minh]` now reads with the voice **male_north_2**.');
    assert.equal(await alias('lan', 'female_south'), '✅ `[lan]` now reads with the voice **female_south**.');

    const script = [
      '[narrator] Trời đã tối dần, những ngọn đèn đường lần lượt bật sáng.',
      '[Minh] Anh phải về thôi, muộn lắm rồi em ạ, mẹ đang đợi ở nhà!',
      'Lan: Em sẽ chờ anh ở đây thêm một lúc nữa nhé, anh đi cẩn thận.',
    ].join('\n');
    const inv = fake.invokeCommand({ user: users.alice!, guild: guild.id, channel: text.id, name: 'narrate', options: { text: script } });
    await inv.deferred();
    const done = await inv.waitForEdit((e) => e.files.length > 0, 60_000);
    assert.match(contentOf(done), /^✅ Narrated · .* · voice \*\*narrator, male_north_2, female_south\*\* · speed /);

    const sent = [...runpod.jobs].sort((a, b) => a.submittedAt - b.submittedAt).map((j) => [String(j.input['ref_name']), String(j.input['text'])]);
    assert.deepEqual(sent, [
      ['sample/narrator.wav', 'Trời đã tối dần, những ngọn đèn đường lần lượt bật sáng.'],
      ['sample/male_north_2.wav', 'Anh phải về thôi, muộn lắm rồi em ạ, mẹ đang đợi ở nhà!'],
      ['sample/female_south.wav', 'Em sẽ chờ anh ở đây thêm một lúc nữa nhé, anh đi cẩn thận.'],
    ]);
    assert.deepEqual(runpod.activeJobs(), []);
  });

  test('an unknown tag: refused privately, naming it and the known names, in the user’s language; no job', async () => {
    const { guild, text, users } = createVoiceGuild(fake, 'Phố cổ', ['bob']);
    await answered(
      fake.invokeCommand({ user: guild.ownerId, guild: guild.id, channel: text.id, name: 'settings', subcommand: 'alias', options: { name: 'minh', voice: 'male_north_2' } }),
    );
    const jobsBefore = runpod.jobs.length;
    const script = '[minh] Anh về đi, muộn rồi! [Zed] Tôi là ai vậy?';
    const refusal = async (locale: 'en-US' | 'vi') => {
      // Private, at once or after a defer (the checks' speed decides which): answeredPrivately rejects a public answer.
      const reply = await fake.invokeCommand({ user: users.bob!, guild: guild.id, channel: text.id, name: 'narrate', options: { text: script }, locale }).answeredPrivately();
      return reply.content;
    };
    const known = '`[minh]`, `[narrator]`, `[male_north_2]`, `[female_south]`';
    assert.equal(
      await refusal('en-US'),
      `The text uses the voice tag \`[Zed]\`, but no voice or alias has that name, so nothing was read. Known names: ${known}. (An admin can add one with \`/settings alias\`.)`,
    );
    assert.equal(
      await refusal('vi'),
      `Văn bản dùng thẻ giọng \`[Zed]\`, nhưng không có giọng hay bí danh nào tên như vậy, nên chưa đọc gì. Các tên hợp lệ: ${known}. (Quản trị viên có thể thêm bằng \`/settings alias\`.)`,
    );
    assert.equal(runpod.jobs.length, jobsBefore, 'no job for a refused narration');
  });
});

describe('a multi-voice script survives a restart', () => {
  let fake: FakeDiscord;
  let runpod: RunPodEmulator;
  let bot: BotProcess | undefined;
  let dbDir: string;
  let env: Record<string, string>;

  before(async () => {
    // The default fake voice: ~4.5 s of audio per line, so SIGTERM comes while the script is playing.
    runpod = await startRunPodEmulator({ workers: 2, jobTimeMs: () => 300, voices: VOICES });
    fake = await FakeDiscord.start({ commands: commandDefinitions() });
    dbDir = await mkdtemp(join(tmpdir(), 'narrator-voices-restart-'));
    env = { DATABASE_URL: `sqlite:${join(dbDir, 'narrator.db')}`, TTS_VOICES: VOICES.join(',') };
  });

  after(async () => {
    await bot?.dispose();
    await fake.close();
    await runpod.close();
    await rm(dbDir, { recursive: true, force: true });
  });

  test('SIGTERM mid-script: after the restart the lines left are read in their voices', async () => {
    const { guild, text, users } = createVoiceGuild(fake, 'Làng', ['alice']);
    bot = await startBot({ fake, runpod, env });
    for (const [name, voice] of [['minh', 'male_north_2'], ['lan', 'female_south']] as const) {
      await answered(fake.invokeCommand({ user: guild.ownerId, guild: guild.id, channel: text.id, name: 'settings', subcommand: 'alias', options: { name, voice } }));
    }
    const lines: readonly (readonly [voice: string, line: string])[] = [
      ['narrator', 'Trời đã tối dần, những ngọn đèn đường lần lượt bật sáng khắp phố.'],
      ['male_north_2', 'Anh phải về thôi, muộn lắm rồi em ạ, mẹ đang đợi ở nhà mình!'],
      ['female_south', 'Em sẽ chờ anh ở đây thêm một lúc nữa nhé, anh đi đường cẩn thận.'],
      ['narrator', 'Và rồi cả hai cùng im lặng nhìn nhau dưới ánh đèn vàng vọt ấy.'],
    ];
    const script = `${lines[0]![1]}\n[Minh] ${lines[1]![1]}\nLan: ${lines[2]![1]}\n[narrator] ${lines[3]![1]}`;
    const inv = fake.invokeCommand({ user: users.alice!, guild: guild.id, channel: text.id, name: 'narrate', options: { text: script } });
    await inv.deferred();
    // Into the second line (each is ~4.5 s).
    await pollUntil(() => (fake.receivedAudio(guild.id).length / 2 / 48_000 > 6 ? true : undefined), 60_000, 'six seconds heard');
    await bot.stopCleanly();

    const jobsBefore = runpod.jobs.length;
    bot = await startBot({ fake, runpod, env });
    await inv.waitForEdit((e) => contentOf(e).startsWith('🔁 Resumed after a restart.'), 30_000);
    const done = await inv.waitForEdit((e) => e.files.length > 0, 90_000);
    assert.match(contentOf(done), /voice \*\*narrator, male_north_2, female_south\*\*/);

    const resumed = runpod.jobs.slice(jobsBefore).map((j) => [String(j.input['ref_name']), String(j.input['text'])] as const);
    assert.ok(resumed.length >= 2, `the lines left were synthesized again: ${resumed.length}`);
    const voiceOf = new Map(lines.map(([voice, line]) => [line, `sample/${voice}.wav`]));
    for (const [refName, line] of resumed) assert.equal(refName, voiceOf.get(line), `"${line}" in its own voice`);
    assert.ok(resumed.some(([, line]) => line === lines[3]![1]), 'the last line was read after the restart');
    assert.deepEqual(runpod.activeJobs(), []);
    await bot.stopCleanly();
    bot = undefined;
  });
});
