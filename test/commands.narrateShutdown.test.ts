/**
 * /narrate crossing a shutdown, as a property: the real NarratorBot, the real /narrate handler, engine and
 * playback, with stand-in interactions whose defer takes a random time, fired through the client's
 * interactionCreate event at random offsets around `shutdown()`. Whatever the interleaving: no TTS job starts once
 * shutdown has begun, and every interaction ends with a final answer its user can read — a private "restarting"
 * (at once, or after the defer), or its public reply saying the narration was cancelled by the shutdown.
 * In-process, so "after" is exact: no clocks compared across processes (a /run written just before the shutdown
 * log line can reach an emulator after it, which would make a cross-process version of this check flaky).
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { createAudioPlayer, NoSubscriberBehavior, type DiscordGatewayAdapterCreator } from '@discordjs/voice';
import { ChannelType, Events, MessageFlags, PermissionFlagsBits, type Interaction } from 'discord.js';
import { NarratorBot } from '../src/bot.js';
import { loadConfig } from '../src/services/config.js';
import { NarratorError } from '../src/services/errors.js';
import { silentLogger } from '../src/services/log.js';
import { FairScheduler } from '../src/services/scheduler.js';
import { Orchestrator } from '../src/services/orchestrator.js';
import type { TtsBackend } from '../src/services/tts/backend.js';
import { PlaybackManager } from '../src/services/playback/playbackManager.js';
import { seededRandom } from './support/fakeVoice.js';

const config = loadConfig({ DISCORD_TOKEN: 'not-used-here', CACHE_MAX_MB: '0', TTS_VOICES: 'narrator' });
const adapter: DiscordGatewayAdapterCreator = () => ({ sendPayload: () => true, destroy: () => undefined });

interface Answer {
  kind: 'reply' | 'deferReply' | 'editReply' | 'deleteReply' | 'followUp';
  content?: string;
  flags?: number;
}

/** A /narrate interaction from a member in voice channel 77 whose defer takes `deferMs`. */
function narrateInteraction(guildId: string, userId: string, deferMs: number) {
  const answers: Answer[] = [];
  const voiceChannel = {
    id: '77',
    type: ChannelType.GuildVoice,
    full: false,
    permissionsFor: () => ({ has: (flag: bigint) => flag !== PermissionFlagsBits.MoveMembers }),
  };
  const guild = {
    id: guildId,
    afkChannelId: null,
    members: { me: { id: 'bot', voice: { channelId: null } }, cache: new Map() },
    roles: { cache: new Map() },
    channels: { cache: new Map() },
    voiceAdapterCreator: adapter,
  };
  const interaction = {
    commandName: 'narrate',
    locale: 'en-US',
    guildId,
    guild,
    user: { id: userId },
    member: { displayName: userId, voice: { channel: voiceChannel, channelId: '77' }, permissions: { has: () => false } },
    client: { users: { cache: new Map() } },
    channel: null,
    channelId: '10',
    createdTimestamp: Date.now(),
    attachmentSizeLimit: 10 * 1024 * 1024,
    deferred: false,
    replied: false,
    isAutocomplete: () => false,
    isChatInputCommand: () => true,
    inCachedGuild: () => true,
    options: {
      getString: (name: string) => (name === 'text' ? `Người dùng ${userId} muốn nghe một câu chuyện thật dài về làng quê.` : null),
      getNumber: () => null,
      getAttachment: () => null,
    },
    reply: async (p: Answer) => {
      answers.push({ ...p, kind: 'reply' });
      interaction.replied = true;
    },
    deferReply: async () => {
      await sleep(deferMs);
      answers.push({ kind: 'deferReply' });
      interaction.deferred = true;
    },
    editReply: async (p: Answer) => void answers.push({ ...p, kind: 'editReply' }),
    deleteReply: async () => void answers.push({ kind: 'deleteReply' }),
    followUp: async (p: Answer) => void answers.push({ ...p, kind: 'followUp' }),
  };
  return { interaction: interaction as unknown as Interaction, answers };
}

/** What the user reads last, and whether only they can read it. */
function finalWord(answers: readonly Answer[]): { content: string; private: boolean } | undefined {
  const last = answers.filter((a) => a.kind !== 'deferReply' && a.kind !== 'deleteReply').at(-1);
  if (!last) return undefined;
  const deletedPlaceholder = answers.some((a) => a.kind === 'deleteReply');
  const ephemeral = ((last.flags ?? 0) & MessageFlags.Ephemeral) !== 0;
  return { content: last.content ?? '', private: ephemeral && (last.kind === 'reply' || deletedPlaceholder) };
}

describe('/narrate crossing shutdown', () => {
  test('no job starts after shutdown begins, and every interaction gets a final answer (random interleavings)', async () => {
    const random = seededRandom(96);
    let sawLate = 0;
    let sawCancelled = 0;
    for (let round = 0; round < 25; round++) {
      let shutdownBegun = false;
      const jobsAfterShutdown: string[] = [];
      let jobs = 0;
      const backend: TtsBackend = {
        kind: 'local',
        identity: 'test:hang',
        // A GPU job that only a cancel ends.
        synthesize: (request, options) => {
          jobs++;
          if (shutdownBegun) jobsAfterShutdown.push(request.text);
          return new Promise((_, reject) => {
            options.signal.addEventListener('abort', () => setTimeout(() => reject(new NarratorError('aborted', 'aborted', 'cancelled')), 5));
          });
        },
      };
      const scheduler = new FairScheduler(4);
      const orchestrator = new Orchestrator({ backend, scheduler, voices: ['narrator'], defaultVoice: 'narrator', defaultSpeed: 1, narrationTimeoutMs: 60_000 });
      const playback = new PlaybackManager({
        idleLeaveMs: 0,
        maxQueue: 5,
        createPlayer: () => createAudioPlayer({ behaviors: { noSubscriber: NoSubscriberBehavior.Play, maxMissedFrames: Infinity } }),
      });
      const bot = new NarratorBot({
        config,
        engine: { orchestrator, backend, scheduler, close: async () => void (await orchestrator.drain(2_000)) },
        logger: silentLogger,
        playback,
      });
      const guildId = String(9000 + round);
      const fired = [1, 2, 3].map((n) => narrateInteraction(guildId, `user${n}`, Math.floor(random() * 12)));
      const shutdownAt = Math.floor(random() * 12);
      const starts = fired.map(async (f) => {
        await sleep(Math.floor(random() * 12));
        bot.client.emit(Events.InteractionCreate, f.interaction);
      });
      const stopping = (async () => {
        await sleep(shutdownAt);
        shutdownBegun = true;
        await bot.shutdown('SIGTERM');
      })();
      await Promise.all([...starts, stopping]);

      assert.deepEqual(jobsAfterShutdown, [], `round ${round}: no job started after shutdown began`);
      for (const [i, f] of fired.entries()) {
        const word = finalWord(f.answers);
        assert.ok(word, `round ${round}, interaction ${i}: answered (${JSON.stringify(f.answers)})`);
        if (word.content.startsWith('🛑 Cancelled: the bot is shutting down')) {
          sawCancelled++;
          assert.ok(!word.private, 'an accepted narration’s public reply says it was cancelled');
        } else {
          assert.equal(word.content, 'The bot is restarting right now. Try again in a minute.', `round ${round}: ${JSON.stringify(f.answers)}`);
          assert.ok(word.private, `round ${round}: the refusal is private: ${JSON.stringify(f.answers)}`);
          if (f.answers.some((a) => a.kind === 'deferReply')) sawLate++;
        }
      }
      assert.equal(playback.size, 0, 'no voice session left');
      assert.equal(scheduler.active, 0, 'no job left running');
      void jobs;
    }
    // The interleavings above must have covered the interesting cases, or this test proves less than it says.
    assert.ok(sawLate > 0, 'some refusals came after the defer');
    assert.ok(sawCancelled > 0, 'some narrations were accepted before the shutdown and cancelled by it');
  });
});
