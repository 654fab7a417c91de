/**
 * Issue 10's acceptance, end to end: the real bot (child process) against the fake Discord and the RunPod
 * emulator, with its SQLite database in a file the test owns (so a restart finds the same state).
 *
 * - `/settings limits daily_chars:300`: a 391-character narration is refused (naming the limit, the numbers, when it
 *   resets) and the emulator receives no job; a 200-character one plays; a second is refused; after SIGTERM and a
 *   new start on the same DATABASE_URL the limit and the usage are still there and the next one is still refused.
 *   `/usage` then shows the GPU seconds the emulator billed (sum of executionTime).
 * - The role limit: a member without the server's narrator role is refused, one with it narrates.
 * - The race: 20 members narrate at once against a budget that fits 5 — exactly 5 run, 15 are refused.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FakeDiscord, type Invocation } from './support/fakeDiscord/index.js';
import { commandDefinitions, contentOf, createVoiceGuild, narrationOutcome, startBot, type BotProcess, type VoiceGuild } from './support/botHarness.js';
import { startRunPodEmulator, type RunPodEmulator } from './support/runpodEmulator.js';
import { fakeSynthesize } from './support/fakeVoice.js';
import { textOfSpokenLength } from './support/spokenText.js';

/** Short audio for every job: playback (real time) stays quick whatever the text. */
const quickVoice = () => fakeSynthesize('xin chào', 2);

/** The answer of a command that defers (ephemerally) and then edits its reply: the edit's text. */
async function answered(inv: Invocation): Promise<string> {
  const first = await inv.acknowledged();
  if (first.type === 4) return contentOf(first);
  return contentOf(await inv.waitForEdit(() => true, 15_000));
}

describe('settings and spending limits, end to end (SQLite)', () => {
  let fake: FakeDiscord;
  let runpod: RunPodEmulator;
  let bot: BotProcess | undefined;
  let dbDir: string;
  let env: Record<string, string>;

  before(async () => {
    runpod = await startRunPodEmulator({ workers: 3, jobTimeMs: () => 300, synth: quickVoice });
    fake = await FakeDiscord.start({ commands: commandDefinitions() });
    dbDir = await mkdtemp(join(tmpdir(), 'narrator-db-'));
    env = { DATABASE_URL: `sqlite:${join(dbDir, 'narrator.db')}`, CACHE_MAX_MB: '0', TTS_VOICES: 'narrator', MAX_QUEUE_PER_GUILD: '25' };
  });

  after(async () => {
    await bot?.dispose();
    await fake.close();
    await runpod.close();
    await rm(dbDir, { recursive: true, force: true });
  });

  let limited: VoiceGuild;

  test('daily_chars:300 — refused before any job, one plays, the next is refused, still after a restart; /usage = billed', async () => {
    limited = createVoiceGuild(fake, 'Làng', ['alice', 'bob']);
    const { guild, text, users } = limited;
    bot = await startBot({ fake, runpod, env });

    const set = fake.invokeCommand({ user: guild.ownerId, guild: guild.id, channel: text.id, name: 'settings', subcommand: 'limits', options: { daily_chars: 300 } });
    assert.match(await answered(set), /300/);

    const narrate = (user: string, content: string) =>
      fake.invokeCommand({ user, guild: guild.id, channel: text.id, name: 'narrate', options: { text: content, speed: 2 } });

    // Private (answeredPrivately rejects otherwise): at once, or after a defer if the database was slow.
    const tooLong = await narrate(users.alice!, textOfSpokenLength(391)).answeredPrivately();
    assert.match(tooLong.content, /^Server limit: 300 characters a day, 0 used; this narration needs 391\. Resets in (\d+ h )?\d+ min\.$/);
    assert.equal(runpod.jobs.length, 0, 'the emulator received no job for a refused narration');

    const first = narrate(users.alice!, textOfSpokenLength(200));
    await first.deferred();
    const done = await first.waitForEdit((e) => e.files.length > 0, 60_000);
    assert.match(contentOf(done), /^✅ Narrated/);
    const jobsAfterFirst = runpod.jobs.length;
    assert.ok(jobsAfterFirst > 0);

    const second = await narrate(users.bob!, textOfSpokenLength(200)).answeredPrivately();
    assert.match(second.content, /^Server limit: 300 characters a day, 200 used; this narration needs 200\. Resets in /);
    assert.equal(runpod.jobs.length, jobsAfterFirst, 'no job for the refused one');

    await bot.stopCleanly();
    bot = await startBot({ fake, runpod, env });
    const afterRestart = await narrate(users.bob!, textOfSpokenLength(200)).answeredPrivately();
    assert.match(afterRestart.content, /^Server limit: 300 characters a day, 200 used; this narration needs 200\. Resets in /);
    assert.equal(runpod.jobs.length, jobsAfterFirst);

    // /usage: the GPU seconds the emulator billed (executionTime, ms, per job), shown to 0.1 s.
    const billed = runpod.jobs.reduce((sum, j) => sum + Math.round((j.finishedAt ?? 0) - (j.startedAt ?? 0)), 0) / 1000;
    const usage = fake.invokeCommand({ user: guild.ownerId, guild: guild.id, channel: text.id, name: 'usage', subcommand: 'server' });
    const report = await answered(usage);
    const today = /Today \(UTC\): 1 narration · 200 characters \(200 synthesized\) · ([\d.]+) GPU s/.exec(report);
    assert.ok(today, report);
    assert.ok(Math.abs(Number(today[1]) - billed) <= 0.05 + 1e-9, `usage shows ${today[1]} GPU s, the emulator billed ${billed} s`);
    assert.deepEqual(runpod.activeJobs(), []);
  });

  test('role limit: a member without the role is refused (naming it), one with it narrates', async () => {
    assert.ok(bot);
    const g = createVoiceGuild(fake, 'Câu lạc bộ', ['dan']);
    const roleId = fake.createRole(g.guild.id, { name: 'Narrators', permissions: [] });
    const erin = fake.createUser({ username: 'erin' }).id;
    fake.addMember(g.guild.id, erin, [roleId]);
    fake.userJoinVoice(erin, g.voice.id);
    const set = fake.invokeCommand({ user: g.guild.ownerId, guild: g.guild.id, channel: g.text.id, name: 'settings', subcommand: 'role', options: { role: roleId } });
    await answered(set);
    const jobsBefore = runpod.jobs.length;

    const refused = await fake
      .invokeCommand({ user: g.users.dan!, guild: g.guild.id, channel: g.text.id, name: 'narrate', options: { text: 'Xin chào cả nhà.' } })
      .answeredPrivately();
    assert.equal(refused.content, `Only members with the <@&${roleId}> role may narrate in this server.`);
    assert.equal(runpod.jobs.length, jobsBefore, 'no job for a refused member');

    const allowed = fake.invokeCommand({ user: erin, guild: g.guild.id, channel: g.text.id, name: 'narrate', options: { text: 'Xin chào cả nhà.' } });
    await allowed.deferred();
    assert.match(contentOf(await allowed.waitForEdit((e) => e.files.length > 0, 60_000)), /^✅ Narrated/);
  });

  test('race: 20 narrations at once against a budget that fits 5 — exactly 5 run', async () => {
    assert.ok(bot);
    const names = Array.from({ length: 20 }, (_, i) => `m${i}`);
    const g = createVoiceGuild(fake, 'Đua', names);
    const length = 40;
    await answered(
      fake.invokeCommand({ user: g.guild.ownerId, guild: g.guild.id, channel: g.text.id, name: 'settings', subcommand: 'limits', options: { daily_chars: 5 * length } }),
    );
    const jobsBefore = runpod.jobs.length;
    // Different texts (no job shared between narrations), all of the same spoken length.
    const invocations = names.map((name, i) =>
      fake.invokeCommand({ user: g.users[name]!, guild: g.guild.id, channel: g.text.id, name: 'narrate', options: { text: textOfSpokenLength(length, `số ${String(i).padStart(2, '0')}`) } }),
    );
    // Accepted: the reply ends with the audio. Refused: an ephemeral answer (after a defer if the checks were slow).
    const outcomes = await Promise.all(invocations.map((inv) => narrationOutcome(inv)));
    const accepted = outcomes.filter((o) => o.accepted);
    const refusedTexts = outcomes.filter((o) => !o.accepted).map((o) => o.content);
    assert.equal(accepted.length, 5, `accepted ${accepted.length}: ${refusedTexts.join(' | ')}`);
    assert.equal(refusedTexts.length, 15);
    for (const content of refusedTexts) assert.match(content, /^Server limit: 200 characters a day, 200 used; this narration needs 40\./);
    for (const o of accepted) assert.match(o.content, /^✅ Narrated/);
    const jobs = runpod.jobs.slice(jobsBefore);
    assert.equal(new Set(jobs.map((j) => String(j.input['text']))).size, jobs.length, 'one job per chunk');
    assert.ok(jobs.length >= 5 && jobs.length <= 5 * 2, `${jobs.length} jobs for 5 short narrations`);
    assert.deepEqual(runpod.activeJobs(), []);
    await bot.stopCleanly();
    bot = undefined;
    assert.deepEqual(fake.problems, []);
  });
});
