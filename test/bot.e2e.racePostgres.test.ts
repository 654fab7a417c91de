/**
 * The budget race across processes (issue 10's acceptance, Postgres): two real bot processes share one Postgres
 * (started by the test on 127.0.0.1, no system service) and serve the same server — each through its own fake
 * Discord, as two shards on two machines would see it. Twenty members narrate at once, ten through each bot,
 * against a daily budget that fits five: exactly five narrations run, fifteen are refused naming the limit, and the
 * emulator receives jobs for the five only. Then the database goes away: the next narration is refused with a clear
 * message and no job. Both bots stop cleanly and no job is left running.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { FakeDiscord, type Invocation } from './support/fakeDiscord/index.js';
import { commandDefinitions, narrationOutcome, startBot, type BotProcess } from './support/botHarness.js';
import { startRunPodEmulator, type RunPodEmulator } from './support/runpodEmulator.js';
import { fakeSynthesize } from './support/fakeVoice.js';
import { startPostgres, type TestPostgres } from './support/postgres.js';
import { openStorage } from '../src/services/storage/index.js';
import { textOfSpokenLength } from './support/spokenText.js';

describe('budget race: two bot processes on one Postgres', () => {
  let pg: TestPostgres;
  let runpod: RunPodEmulator;
  const fakes: FakeDiscord[] = [];
  const bots: BotProcess[] = [];

  before(async () => {
    pg = await startPostgres();
    runpod = await startRunPodEmulator({ workers: 4, jobTimeMs: () => 200, synth: () => fakeSynthesize('xin chào', 2) });
    for (let i = 0; i < 2; i++) fakes.push(await FakeDiscord.start({ commands: commandDefinitions() }));
  });

  after(async () => {
    for (const bot of bots) await bot.dispose();
    for (const fake of fakes) await fake.close();
    await runpod.close();
    await pg.stop();
  });

  test('20 concurrent narrations (10 per process) against a budget that fits 5: exactly 5 run', async () => {
    const length = 40;
    // The same server (same id) in both fakes, each with its own ten members in its voice channel.
    let guildId: string | undefined;
    const sides = fakes.map((fake, side) => {
      const guild = fake.createGuild({ name: 'Đua', ...(guildId ? { id: guildId } : {}) });
      guildId = guild.id;
      const text = fake.createChannel(guild.id, { name: 'general', type: 'text' });
      const voice = fake.createChannel(guild.id, { name: 'Lounge', type: 'voice' });
      const users = Array.from({ length: 10 }, (_, i) => {
        const id = fake.createUser({ username: `s${side}m${i}`, guilds: [guild.id] }).id;
        fake.userJoinVoice(id, voice.id);
        return id;
      });
      return { fake, guild, text, users };
    });
    const storage = await openStorage(pg.url);
    await storage.updateSettings(guildId!, { dailyChars: 5 * length });
    await storage.close();

    const env = { DATABASE_URL: pg.url, CACHE_MAX_MB: '0', TTS_VOICES: 'narrator', MAX_QUEUE_PER_GUILD: '25' };
    for (const fake of fakes) bots.push(await startBot({ fake, runpod, env }));

    const invocations: Invocation[] = [];
    for (let i = 0; i < 10; i++) {
      for (const [side, s] of sides.entries()) {
        invocations.push(
          s.fake.invokeCommand({
            user: s.users[i]!,
            guild: s.guild.id,
            channel: s.text.id,
            name: 'narrate',
            options: { text: textOfSpokenLength(length, `bên ${side} số ${i}`) },
          }),
        );
      }
    }
    // Accepted: the reply ends with the audio. Refused: an ephemeral answer (after a defer if the checks were slow).
    const outcomes = await Promise.all(invocations.map((inv) => narrationOutcome(inv)));
    const accepted = outcomes.filter((o) => o.accepted);
    const refused = outcomes.filter((o) => !o.accepted).map((o) => o.content);
    assert.equal(accepted.length, 5, `accepted ${accepted.length}; refused: ${refused.join(' | ')}`);
    for (const content of refused) assert.match(content, /^Server limit: 200 characters a day, 200 used; this narration needs 40\./);
    for (const o of accepted) assert.match(o.content, /^✅ Narrated/);
    const texts = new Set(runpod.jobs.map((j) => String(j.input['text'])));
    assert.equal(texts.size, runpod.jobs.length, 'one job per chunk, none for a refused narration');
    assert.ok(runpod.jobs.length >= 5 && runpod.jobs.length <= 10, `${runpod.jobs.length} jobs`);
    assert.deepEqual(runpod.activeJobs(), []);

    // The database goes away: a narration is refused with a clear message — never narrated without limits.
    await pg.kill();
    const jobsBefore = runpod.jobs.length;
    const s = sides[0]!;
    const down = await narrationOutcome(
      s.fake.invokeCommand({ user: s.users[0]!, guild: s.guild.id, channel: s.text.id, name: 'narrate', options: { text: 'Xin chào cả nhà.' } }),
    );
    assert.deepEqual(down, { accepted: false, content: 'I cannot check this server’s limits right now (the settings database is unavailable), so I will not narrate. Try again in a minute.' });
    assert.equal(runpod.jobs.length, jobsBefore, 'no job without limits');
    for (const bot of bots) await bot.stopCleanly();
    for (const fake of fakes) assert.deepEqual(fake.problems, []);
  });
});
