/**
 * NarratorBot's dispatch and shutdown, without a gateway: a handler that throws (before or after deferring) still
 * ends in a specific message and never rejects; autocomplete failures answer an empty list; after shutdown starts,
 * new commands are told the bot is restarting; shutdown cancels narrations, tells their requesters, waits for the
 * engine's jobs and closes everything.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { MessageFlags, SlashCommandBuilder, type AutocompleteInteraction, type ChatInputCommandInteraction, type Interaction } from 'discord.js';
import type { DiscordGatewayAdapterCreator } from '@discordjs/voice';
import { NarratorBot } from '../src/bot.js';
import type { Command } from '../src/commands/index.js';
import { loadConfig } from '../src/services/config.js';
import { NarratorError } from '../src/services/errors.js';
import { silentLogger } from '../src/services/log.js';
import { FairScheduler } from '../src/services/scheduler.js';
import { Orchestrator } from '../src/services/orchestrator.js';
import type { TtsBackend } from '../src/services/tts/backend.js';
import { PlaybackManager } from '../src/services/playback/playbackManager.js';
import { NarrationTrack } from '../src/services/playback/narrationTrack.js';
import { followTrack, type ReplyTarget } from '../src/services/playback/narrationReply.js';
import { pollUntil } from './support/wait.js';

const config = loadConfig({ DISCORD_TOKEN: 'not-used-here', CACHE_MAX_MB: '0' });

/** A backend whose jobs never finish on their own: only a cancel ends them (like a slow GPU job). */
function hangingBackend(): TtsBackend & { cancelled: number } {
  const backend = {
    kind: 'local' as const,
    identity: 'test:hang',
    cancelled: 0,
    synthesize: (_r: unknown, o: { signal: AbortSignal }) =>
      new Promise<never>((_, reject) => {
        o.signal.addEventListener('abort', () => {
          // Like RunPod: the cancel request takes a moment before the job settles.
          setTimeout(() => {
            backend.cancelled++;
            reject(new NarratorError('aborted', 'aborted', 'cancelled'));
          }, 30);
        });
      }),
  };
  return backend;
}

function makeBot(commands: Command[], backend: TtsBackend = hangingBackend()) {
  const scheduler = new FairScheduler(2);
  const orchestrator = new Orchestrator({ backend, scheduler, voices: ['narrator'], defaultVoice: 'narrator', defaultSpeed: 1, narrationTimeoutMs: 60_000 });
  let closed = 0;
  const playback = new PlaybackManager({ idleLeaveMs: 0, maxQueue: 3 });
  const bot = new NarratorBot({
    config,
    engine: { orchestrator, backend, scheduler, close: async () => void closed++ },
    logger: silentLogger,
    commands,
    playback,
  });
  return { bot, orchestrator, scheduler, playback, closed: () => closed };
}

interface Call {
  kind: string;
  content?: string;
  flags?: number;
}

function chatInput(name: string, locale = 'en-US') {
  const calls: Call[] = [];
  const i = {
    commandName: name,
    locale,
    guildId: '1',
    deferred: false,
    replied: false,
    isAutocomplete: () => false,
    isChatInputCommand: () => true,
    reply: async (p: Call) => {
      calls.push({ ...p, kind: 'reply' });
      i.replied = true;
    },
    deferReply: async () => {
      calls.push({ kind: 'deferReply' });
      i.deferred = true;
    },
    editReply: async (p: Call) => void calls.push({ ...p, kind: 'editReply' }),
    followUp: async (p: Call) => void calls.push({ ...p, kind: 'followUp' }),
  };
  return { interaction: i as unknown as Interaction & ChatInputCommandInteraction, calls };
}

const command = (name: string, execute: Command['execute'], autocomplete?: Command['autocomplete']): Command => ({
  data: new SlashCommandBuilder().setName(name).setDescription('test'),
  execute,
  autocomplete,
});

describe('NarratorBot dispatch', () => {
  test('a handler that throws before replying: ephemeral "went wrong", and the dispatch resolves', async () => {
    const { bot } = makeBot([command('boom', async () => Promise.reject(new TypeError('x is undefined')))]);
    const { interaction, calls } = chatInput('boom');
    await bot.handleInteraction(interaction);
    assert.equal(calls.length, 1);
    assert.equal(calls[0]!.kind, 'reply');
    assert.equal(calls[0]!.flags, MessageFlags.Ephemeral);
    assert.match(calls[0]!.content!, /^Something went wrong on my side/);
    await bot.client.destroy();
  });

  test('a handler that throws after deferring: the deferred reply is edited with the specific reason', async () => {
    const { bot } = makeBot([
      command('slow', async (i) => {
        await i.deferReply();
        throw new NarratorError('config', 'runpod_auth', 'RunPod refused the API key (HTTP 401).', 'body: secret');
      }),
    ]);
    const { interaction, calls } = chatInput('slow', 'vi');
    await bot.handleInteraction(interaction);
    assert.deepEqual(calls.map((c) => c.kind), ['deferReply', 'editReply']);
    assert.match(calls[1]!.content!, /RunPod API key/);
    assert.ok(!calls[1]!.content!.includes('secret'));
    await bot.client.destroy();
  });

  test('a handler that fails after replying gets an ephemeral follow-up', async () => {
    const { bot } = makeBot([
      command('half', async (i) => {
        await i.reply({ content: 'ok' });
        throw new NarratorError('transient', 'worker_busy', 'busy');
      }),
    ]);
    const { interaction, calls } = chatInput('half');
    await bot.handleInteraction(interaction);
    assert.equal(calls[1]!.kind, 'followUp');
    assert.match(calls[1]!.content!, /busy/);
    await bot.client.destroy();
  });

  test('when even the error reply fails, nothing escapes', async () => {
    const { bot } = makeBot([command('boom', async () => Promise.reject(new Error('x')))]);
    const { interaction } = chatInput('boom');
    Object.assign(interaction, { reply: async () => Promise.reject(new Error('Unknown interaction')) });
    await bot.handleInteraction(interaction); // resolves
    await bot.client.destroy();
  });

  test('an unknown command is answered, not ignored', async () => {
    const { bot } = makeBot([]);
    const { interaction, calls } = chatInput('ghost');
    await bot.handleInteraction(interaction);
    assert.match(calls[0]!.content!, /went wrong/);
    await bot.client.destroy();
  });

  test('autocomplete that throws answers an empty list', async () => {
    const { bot } = makeBot([command('narrate', async () => undefined, async () => Promise.reject(new Error('x')))]);
    const responses: unknown[] = [];
    const interaction = {
      commandName: 'narrate',
      responded: false,
      isAutocomplete: () => true,
      respond: async (c: unknown) => void responses.push(c),
    } as unknown as Interaction & AutocompleteInteraction;
    await bot.handleInteraction(interaction);
    assert.deepEqual(responses, [[]]);
    await bot.client.destroy();
  });

  test('the client has an error listener (an unhandled client error would kill the process)', async () => {
    const { bot } = makeBot([]);
    assert.ok(bot.client.listenerCount('error') >= 1);
    bot.client.emit('error', new Error('gateway hiccup')); // must not throw
    await bot.client.destroy();
  });
});

describe('NarratorBot shutdown', () => {
  test('refuses new commands, cancels narrations (jobs too), tells requesters, closes the engine', async () => {
    let ran = 0;
    const env = makeBot([command('narrate', async () => void ran++)]);
    const adapter: DiscordGatewayAdapterCreator = () => ({ sendPayload: () => true, destroy: () => undefined });
    const session = env.playback.join({ guildId: '31337', channelId: '9', adapterCreator: adapter });
    const plan = env.orchestrator.plan({ text: 'A long narration that is still being synthesized at shutdown.' });
    const track = new NarrationTrack(
      { text: 'A long narration that is still being synthesized at shutdown.', voice: plan.voice, speed: 1, chunksTotal: plan.chunks.length, requesterId: '42', requesterName: 'a' },
      env.orchestrator,
    );
    session.enqueue(track);
    const edits: string[] = [];
    const target: ReplyTarget = { expiresAt: Date.now() + 900_000, edit: async (m) => void edits.push(m.content), post: async () => undefined };
    // What /narrate registers: the reply follower, which shutdown waits for.
    (env.bot as unknown as { context: { background(p: Promise<unknown>): void } }).context.background(
      followTrack(track, target, { lang: 'en', attachmentSizeLimit: 1 << 20, minIntervalMs: 10 }),
    );
    // The scheduler starts the job a turn later; on a loaded machine that can take more than a few ms.
    await pollUntil(() => env.scheduler.active === 1 || undefined, 5_000, 'the job to start');
    assert.equal(env.scheduler.active, 1, 'a job is running on the worker');

    const started = performance.now();
    const done = env.bot.shutdown('SIGTERM');
    const { interaction, calls } = chatInput('narrate');
    await env.bot.handleInteraction(interaction);
    assert.equal(ran, 0);
    assert.match(calls[0]!.content!, /restarting/);
    assert.equal(calls[0]!.flags, MessageFlags.Ephemeral);

    await done;
    assert.ok(performance.now() - started < 5_000);
    assert.deepEqual(await track.finished, { kind: 'cancelled', reason: 'shutdown', by: undefined });
    assert.match(edits.at(-1)!, /^🛑 Cancelled: the bot is shutting down/);
    assert.equal(env.scheduler.active, 0, 'no job left running (its cancel went out)');
    assert.equal(env.playback.size, 0);
    assert.equal(env.closed(), 1);
    assert.equal(session.hasEnded, true);
    assert.equal(env.bot.shutdown('again'), done, 'idempotent');
  });
});
