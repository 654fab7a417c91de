/**
 * The command handlers against stand-in interactions (plain objects with the fields discord.js would give them)
 * and the real engine, playback and reply code: every refusal answers at once, ephemerally, with the specific
 * reason and without spending a GPU job; an accepted /narrate is deferred, plays, and ends in a reply with the
 * audio; /stop /skip /queue /leave /voices do what they say and tell the users. The full wire-level scenarios
 * (real discord.js client against the fake Discord) live in test/bot.e2e.*.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import {
  createAudioPlayer,
  NoSubscriberBehavior,
  type DiscordGatewayAdapterCreator,
} from '@discordjs/voice';
import { ChannelType, MessageFlags, PermissionFlagsBits, type AutocompleteInteraction, type ChatInputCommandInteraction } from 'discord.js';
import { loadConfig } from '../src/services/config.js';
import { NarratorError, abortError } from '../src/services/errors.js';
import { FairScheduler } from '../src/services/scheduler.js';
import { Orchestrator } from '../src/services/orchestrator.js';
import type { SynthesisRequest, SynthesisResult, SynthesizeOptions, TtsBackend } from '../src/services/tts/backend.js';
import { PlaybackManager } from '../src/services/playback/playbackManager.js';
import { NarrationTrack } from '../src/services/playback/narrationTrack.js';
import type { CommandContext } from '../src/commands/index.js';
import { narrate } from '../src/commands/narrate.js';
import { stop } from '../src/commands/stop.js';
import { skip } from '../src/commands/skip.js';
import { queue } from '../src/commands/queue.js';
import { leave } from '../src/commands/leave.js';
import { voices } from '../src/commands/voices.js';
import { decodeTestWav, encodeTestWav } from './support/fakeVoice.js';

const RATE = 24_000;

class ToneBackend implements TtsBackend {
  readonly kind = 'local';
  readonly identity = 'test:tone';
  jobs = 0;
  constructor(private readonly delayMs = 10) {}
  async synthesize(_request: SynthesisRequest, options: SynthesizeOptions): Promise<SynthesisResult> {
    this.jobs++;
    try {
      await sleep(this.delayMs, undefined, { signal: options.signal });
    } catch {
      throw abortError(options.signal);
    }
    const samples = new Float32Array(Math.round(RATE * 0.2));
    for (let i = 0; i < samples.length; i++) samples[i] = 0.3 * Math.sin((2 * Math.PI * 220 * i) / RATE);
    return { wav: encodeTestWav(samples, RATE, 'pcm16'), retries: 0 };
  }
}

const adapter: DiscordGatewayAdapterCreator = () => ({ sendPayload: () => true, destroy: () => undefined });
let guildCounter = 5000;

function context(options: { delayMs?: number; maxQueue?: number; backend?: Partial<TtsBackend> } = {}) {
  const config = loadConfig({ TTS_VOICES: 'narrator,female', MAX_QUEUE_PER_GUILD: String(options.maxQueue ?? 3), CACHE_MAX_MB: '0' });
  const backend = new ToneBackend(options.delayMs);
  const orchestrator = new Orchestrator({
    backend,
    scheduler: new FairScheduler(2),
    voices: config.voices,
    defaultVoice: config.defaultVoice,
    defaultSpeed: config.defaultSpeed,
    narrationTimeoutMs: 60_000,
  });
  const playback = new PlaybackManager({
    idleLeaveMs: 0,
    maxQueue: config.discord.maxQueuePerGuild,
    createPlayer: () => createAudioPlayer({ behaviors: { noSubscriber: NoSubscriberBehavior.Play, maxMissedFrames: Infinity } }),
  });
  const tasks: Promise<unknown>[] = [];
  const ctx: CommandContext = {
    config,
    orchestrator,
    backend: { kind: backend.kind, ...options.backend },
    playback,
    logger: undefined as never,
    background: (task) => void tasks.push(task),
  };
  // Handlers log through ctx.logger: a silent pino logger.
  Object.assign(ctx, { logger: silent() });
  return { ctx, backend, orchestrator, playback, tasks, guildId: String(guildCounter++) };
}

function silent() {
  const noop = () => undefined;
  const logger = { info: noop, warn: noop, debug: noop, error: noop, trace: noop, fatal: noop, child: () => logger };
  return logger as never;
}

interface Call {
  readonly kind: 'reply' | 'deferReply' | 'editReply' | 'followUp' | 'respond' | 'send';
  readonly payload: { content?: string; flags?: number; files?: { attachment: unknown; name: string }[]; allowedMentions?: unknown } & Record<string, unknown>;
}

interface FakeOptions {
  readonly guildId: string;
  readonly locale?: string;
  readonly userId?: string;
  /** The member's voice channel (undefined: not in voice). */
  readonly memberChannel?: string;
  readonly channelType?: ChannelType;
  readonly channelFull?: boolean;
  readonly botPerms?: { view?: boolean; connect?: boolean; speak?: boolean; move?: boolean };
  readonly memberCanMove?: boolean;
  readonly options?: Record<string, string | number | undefined>;
}

/** A chat-input interaction as the handlers use it. */
function fakeInteraction(o: FakeOptions): { interaction: ChatInputCommandInteraction; calls: Call[] } {
  const calls: Call[] = [];
  const perms = { view: true, connect: true, speak: true, move: false, ...o.botPerms };
  const channel = o.memberChannel && {
    id: o.memberChannel,
    type: o.channelType ?? ChannelType.GuildVoice,
    full: o.channelFull ?? false,
    permissionsFor: () => ({
      has: (flag: bigint) =>
        (flag === PermissionFlagsBits.ViewChannel && perms.view) ||
        (flag === PermissionFlagsBits.Connect && perms.connect) ||
        (flag === PermissionFlagsBits.Speak && perms.speak) ||
        (flag === PermissionFlagsBits.MoveMembers && perms.move),
    }),
  };
  const me = { id: 'bot', voice: { channelId: null } };
  const member = {
    displayName: 'Ana',
    voice: { channel: channel || null, channelId: o.memberChannel ?? null },
    permissions: { has: (flag: bigint) => flag === PermissionFlagsBits.MoveMembers && !!o.memberCanMove },
  };
  const guild = {
    id: o.guildId,
    members: { me, cache: new Map([['123', { displayName: 'Bình' }]]) },
    roles: { cache: new Map() },
    channels: { cache: new Map() },
    voiceAdapterCreator: adapter,
  };
  const state = { deferred: false, replied: false };
  const interaction = {
    ...state,
    locale: o.locale ?? 'en-US',
    guildId: o.guildId,
    guild,
    member,
    user: { id: o.userId ?? '42' },
    client: { users: { cache: new Map() } },
    createdTimestamp: Date.now(),
    attachmentSizeLimit: 10 * 1024 * 1024,
    commandName: 'x',
    inCachedGuild: () => true,
    options: {
      getString: (name: string) => (o.options?.[name] as string | undefined) ?? null,
      getNumber: (name: string) => (o.options?.[name] as number | undefined) ?? null,
      getAttachment: () => null,
    },
    channel: { isSendable: () => true, send: async (payload: Call['payload']) => void calls.push({ kind: 'send', payload }) },
    reply: async (payload: Call['payload']) => {
      calls.push({ kind: 'reply', payload });
      interaction.replied = true;
    },
    deferReply: async (payload: Call['payload'] = {}) => {
      calls.push({ kind: 'deferReply', payload });
      interaction.deferred = true;
    },
    editReply: async (payload: Call['payload']) => void calls.push({ kind: 'editReply', payload }),
    followUp: async (payload: Call['payload']) => void calls.push({ kind: 'followUp', payload }),
  };
  return { interaction: interaction as unknown as ChatInputCommandInteraction, calls };
}

const isEphemeral = (call: Call | undefined) => call !== undefined && ((call.payload.flags ?? 0) & MessageFlags.Ephemeral) !== 0;
const TEXT = 'Xin chào <@123>, hôm nay trời đẹp quá. Chúng ta cùng đi dạo ở công viên nhé!';

function track(ctx: ReturnType<typeof context>, text: string, requesterId = '1'): NarrationTrack {
  const plan = ctx.orchestrator.plan({ text });
  return new NarrationTrack(
    { text, voice: plan.voice, speed: plan.speed, chunksTotal: plan.chunks.length, requesterId, requesterName: 'x' },
    ctx.orchestrator,
  );
}

describe('/narrate refusals (answered at once, ephemeral, no GPU job)', () => {
  const cases: { name: string; fake: Omit<FakeOptions, 'guildId'>; expect: RegExp }[] = [
    { name: 'not in a voice channel', fake: { options: { text: TEXT } }, expect: /^Join a voice channel first/ },
    {
      name: 'bot may not speak there',
      fake: { memberChannel: '77', botPerms: { speak: false }, options: { text: TEXT } },
      expect: /^I do not have permission to speak in <#77>\./,
    },
    {
      name: 'bot may not connect or speak there (Vietnamese)',
      fake: { locale: 'vi', memberChannel: '77', botPerms: { connect: false, speak: false }, options: { text: TEXT } },
      expect: /^Mình không có quyền kết nối và nói trong <#77>\./,
    },
    { name: 'a stage channel', fake: { memberChannel: '77', channelType: ChannelType.GuildStageVoice, options: { text: TEXT } }, expect: /stage channel/ },
    { name: 'a full channel', fake: { memberChannel: '77', channelFull: true, options: { text: TEXT } }, expect: /<#77> is full/ },
    { name: 'unknown voice', fake: { memberChannel: '77', options: { text: TEXT, voice: 'robot' } }, expect: /^Unknown voice\. Choose one of: narrator, female\./ },
    { name: 'speed out of range', fake: { memberChannel: '77', options: { text: TEXT, speed: 3 } }, expect: /between 0\.5 and 2/ },
    { name: 'text too long', fake: { memberChannel: '77', options: { text: 'a'.repeat(6001) } }, expect: /too long/ },
    { name: 'nothing speakable', fake: { memberChannel: '77', options: { text: 'https://example.com 😀 ```code```' } }, expect: /nothing to read aloud/ },
  ];
  for (const c of cases) {
    test(c.name, async () => {
      const { ctx, backend, guildId, playback } = context();
      const { interaction, calls } = fakeInteraction({ guildId, ...c.fake });
      await narrate.execute(interaction, ctx);
      assert.equal(calls.length, 1);
      assert.equal(calls[0]!.kind, 'reply');
      assert.ok(isEphemeral(calls[0]), 'only the caller sees it');
      assert.match(calls[0]!.payload.content!, c.expect);
      assert.equal(backend.jobs, 0);
      assert.equal(playback.size, 0, 'no voice connection was opened');
    });
  }

  test('busy in another channel', async () => {
    const env = context({ delayMs: 1000 });
    const session = env.playback.join({ guildId: env.guildId, channelId: '88', adapterCreator: adapter });
    session.enqueue(track(env, 'Someone else is listening to this narration in channel 88 now.'));
    const { interaction, calls } = fakeInteraction({ guildId: env.guildId, memberChannel: '77', options: { text: TEXT } });
    await narrate.execute(interaction, env.ctx);
    assert.match(calls[0]!.payload.content!, /^I am already narrating in <#88>\./);
    assert.ok(isEphemeral(calls[0]));
    session.end('left');
  });

  test('queue full', async () => {
    const env = context({ delayMs: 1000, maxQueue: 1 });
    const session = env.playback.join({ guildId: env.guildId, channelId: '77', adapterCreator: adapter });
    session.enqueue(track(env, 'The first narration plays and keeps the player busy for now.'));
    session.enqueue(track(env, 'The second narration waits in the only place in the queue.'));
    const { interaction, calls } = fakeInteraction({ guildId: env.guildId, memberChannel: '77', options: { text: TEXT } });
    await narrate.execute(interaction, env.ctx);
    assert.match(calls[0]!.payload.content!, /queue for this server is full \(1 narrations waiting\)/);
    assert.ok(isEphemeral(calls[0]));
    session.end('left');
  });
});

describe('/narrate accepted', () => {
  test('defers publicly, plays, and ends with the audio and the quoted text (mentions resolved, never pinging)', async () => {
    const env = context();
    const { interaction, calls } = fakeInteraction({ guildId: env.guildId, memberChannel: '77', options: { text: TEXT, speed: 1.2 } });
    await narrate.execute(interaction, env.ctx);
    assert.equal(calls[0]!.kind, 'deferReply');
    assert.ok(!isEphemeral(calls[0]), 'the channel sees what is read');
    assert.equal(env.playback.get(env.guildId)?.channelId, '77', 'joined the caller’s channel');
    assert.equal(env.tasks.length, 1);
    await Promise.all(env.tasks);
    const edits = calls.filter((c) => c.kind === 'editReply');
    const final = edits.at(-1)!;
    assert.match(final.payload.content!, /^✅ Narrated · 0:0\d · voice \*\*narrator\*\* · speed 1\.2\n```\nXin chào <@123>/);
    assert.deepEqual(final.payload.allowedMentions, { parse: [] });
    assert.ok(edits.every((e) => JSON.stringify(e.payload.allowedMentions) === '{"parse":[]}'));
    const file = final.payload.files?.[0] as unknown as { attachment: Buffer; name: string };
    assert.equal(file.name, 'narration.wav');
    const wav = decodeTestWav(new Uint8Array(file.attachment));
    assert.ok(Math.abs(wav.samples.length / wav.sampleRate - 0.2) < 0.05, 'the synthesized audio (one 0.2 s chunk)');
    assert.ok(env.backend.jobs >= 1);
    env.playback.endAll('shutdown');
  });
});

describe('/stop /skip /queue /leave', () => {
  function busySession(delayMs = 1000) {
    const env = context({ delayMs });
    const session = env.playback.join({ guildId: env.guildId, channelId: '77', adapterCreator: adapter });
    const a = track(env, 'Alpha is the narration playing now in channel seventy-seven.', '1');
    const b = track(env, 'Bravo is the narration waiting behind it in the same queue.', '2');
    session.enqueue(a);
    session.enqueue(b);
    return { ...env, session, a, b };
  }

  test('/stop: nothing playing, and not allowed from outside the channel', async () => {
    const env = context();
    let f = fakeInteraction({ guildId: env.guildId, memberChannel: '77' });
    await stop.execute(f.interaction, env.ctx);
    assert.match(f.calls[0]!.payload.content!, /^Nothing is playing/);
    assert.ok(isEphemeral(f.calls[0]));

    const busy = busySession();
    f = fakeInteraction({ guildId: busy.guildId, memberChannel: '99' });
    await stop.execute(f.interaction, busy.ctx);
    assert.match(f.calls[0]!.payload.content!, /^Join my voice channel/);
    assert.equal(busy.session.busy, true, 'nothing was stopped');
    busy.session.end('left');
  });

  test('/stop cancels the current and waiting narrations and says so', async () => {
    const busy = busySession();
    const f = fakeInteraction({ guildId: busy.guildId, memberChannel: '77', userId: '3' });
    await stop.execute(f.interaction, busy.ctx);
    assert.equal(f.calls[0]!.payload.content, '⏹️ Stopped and cleared 2 narration(s).');
    assert.ok(!isEphemeral(f.calls[0]));
    assert.deepEqual(await busy.a.finished, { kind: 'cancelled', reason: 'stopped', by: '<@3>' });
    assert.deepEqual(await busy.b.finished, { kind: 'cancelled', reason: 'stopped', by: '<@3>' });
    assert.equal(busy.playback.get(busy.guildId), busy.session, 'still connected');
    busy.session.end('left');
  });

  test('/stop by a moderator from outside the channel is allowed', async () => {
    const busy = busySession();
    const f = fakeInteraction({ guildId: busy.guildId, memberChannel: '99', memberCanMove: true });
    await stop.execute(f.interaction, busy.ctx);
    assert.match(f.calls[0]!.payload.content!, /Stopped and cleared 2/);
    busy.session.end('left');
  });

  test('/skip moves on to the next narration', async () => {
    const busy = busySession();
    const f = fakeInteraction({ guildId: busy.guildId, memberChannel: '77', locale: 'vi' });
    await skip.execute(f.interaction, busy.ctx);
    assert.equal(f.calls[0]!.payload.content, '⏭️ Đã bỏ qua bài của <@1>.');
    assert.deepEqual(f.calls[0]!.payload.allowedMentions, { parse: [] });
    assert.equal((await busy.a.finished).kind, 'cancelled');
    assert.equal(busy.session.current, busy.b);
    busy.session.end('left');
  });

  test('/skip with nothing playing', async () => {
    const env = context();
    const f = fakeInteraction({ guildId: env.guildId, memberChannel: '77' });
    await skip.execute(f.interaction, env.ctx);
    assert.match(f.calls[0]!.payload.content!, /^Nothing is playing/);
  });

  test('/queue lists who asked, the first words and the state', async () => {
    const busy = busySession();
    const f = fakeInteraction({ guildId: busy.guildId, memberChannel: '99' });
    await queue.execute(f.interaction, busy.ctx);
    const content = f.calls[0]!.payload.content!;
    assert.ok(isEphemeral(f.calls[0]));
    assert.match(content, /^\*\*Narrations\*\* \(2, at most 3 waiting\):/);
    assert.match(content, /🎙️ <@1> — `Alpha is the narration playing now in channel seventy-seven\.` · preparing ▱+ 0\/1/);
    assert.match(content, /\n1\. <@2> — `Bravo is the narration waiting behind it in the same queue\.`$/);
    busy.session.end('left');
    const empty = fakeInteraction({ guildId: busy.guildId });
    await queue.execute(empty.interaction, busy.ctx);
    assert.equal(empty.calls[0]!.payload.content, 'The queue is empty.');
  });

  test('/leave ends the session and forgets it; without one it says so', async () => {
    const busy = busySession();
    const f = fakeInteraction({ guildId: busy.guildId, memberChannel: '77', userId: '5' });
    await leave.execute(f.interaction, busy.ctx);
    assert.equal(f.calls[0]!.payload.content, '👋 Left the voice channel.');
    assert.deepEqual(await busy.a.finished, { kind: 'cancelled', reason: 'left', by: '<@5>' });
    assert.equal(busy.playback.size, 0);
    const again = fakeInteraction({ guildId: busy.guildId, memberChannel: '77' });
    await leave.execute(again.interaction, busy.ctx);
    assert.match(again.calls[0]!.payload.content!, /^I am not in a voice channel/);
  });
});

describe('/voices', () => {
  test('lists the allowed voices with the default marked', async () => {
    const env = context();
    const f = fakeInteraction({ guildId: env.guildId });
    await voices.execute(f.interaction, env.ctx);
    assert.equal(f.calls[0]!.kind, 'reply');
    assert.ok(isEphemeral(f.calls[0]));
    assert.equal(f.calls[0]!.payload.content, '**Voices** (2):\n• `narrator` — default\n• `female`');
  });

  test('with a backend that can list its voices, marks the ones the worker lacks', async () => {
    const env = context({ backend: { kind: 'flask', listVoices: async () => ['narrator', 'other'] } });
    const f = fakeInteraction({ guildId: env.guildId });
    await voices.execute(f.interaction, env.ctx);
    assert.equal(f.calls[0]!.kind, 'deferReply');
    assert.equal(f.calls[1]!.payload.content, '**Voices** (2):\n• `narrator` — default\n• `female` — not installed on the worker');
  });

  test('an unreachable worker still gives the list, with a note', async () => {
    const env = context({
      backend: { kind: 'flask', listVoices: async () => Promise.reject(new NarratorError('transient', 'network', 'down')) },
    });
    const f = fakeInteraction({ guildId: env.guildId, locale: 'vi' });
    await voices.execute(f.interaction, env.ctx);
    assert.match(f.calls[1]!.payload.content!, /^\*\*Giọng đọc\*\* \(2\):\n• `narrator` — mặc định\n• `female`\n\(Không hỏi được/);
  });
});

describe('voice autocomplete', () => {
  test('answers from the configuration, filtered by what was typed', async () => {
    const env = context();
    const responses: unknown[] = [];
    const interaction = {
      options: { getFocused: () => ({ name: 'voice', value: 'fe' }) },
      respond: async (choices: unknown) => void responses.push(choices),
    } as unknown as AutocompleteInteraction;
    const started = performance.now();
    await narrate.autocomplete!(interaction, env.ctx);
    assert.ok(performance.now() - started < 100, 'well within 3 s');
    assert.deepEqual(responses, [[{ name: 'female', value: 'female' }]]);
  });
});
