/**
 * How a voice_message narration's audio reaches Discord (src/commands/narrateOutput.ts), each route and refusal:
 * a follow-up flagged IS_VOICE_MESSAGE; a channel message when Discord refuses the follow-up route; the file in
 * the reply, with the reason, when the bot lacks Send Voice Messages (from the app permissions, or Discord's 50173
 * on either route) or the channel refuses too. In every case the reply ends with the outcome and the text, exactly
 * one voice message or one file is delivered, and nothing is left running. The interaction is a small stand-in
 * (only what the module uses); the track runs through the real engine with a tone backend and DetachedNarrations.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { MessageFlags, PermissionFlagsBits, PermissionsBitField, type ChatInputCommandInteraction } from 'discord.js';
import { Orchestrator } from '../src/services/orchestrator.js';
import { FairScheduler } from '../src/services/scheduler.js';
import { abortError } from '../src/services/errors.js';
import type { SynthesisRequest, SynthesisResult, SynthesizeOptions, TtsBackend } from '../src/services/tts/backend.js';
import { NarrationTrack } from '../src/services/playback/narrationTrack.js';
import { DetachedNarrations } from '../src/services/playback/detachedNarrations.js';
import { followTrack, type OutgoingMessage, type ReplyTarget } from '../src/services/playback/narrationReply.js';
import { VOICE_MESSAGE_SOURCE_LIMIT, voiceMessageTarget } from '../src/commands/narrateOutput.js';
import { silentLogger } from '../src/services/log.js';
import { encodeTestWav } from './support/fakeVoice.js';

const RATE = 24_000;

class ToneBackend implements TtsBackend {
  readonly kind = 'local';
  readonly identity = 'test:tone';
  active = 0;
  async synthesize(_request: SynthesisRequest, options: SynthesizeOptions): Promise<SynthesisResult> {
    this.active++;
    try {
      await sleep(5 + Math.random() * 20, undefined, { signal: options.signal }).catch(() => {
        throw abortError(options.signal);
      });
      const samples = new Float32Array(RATE);
      for (let i = 0; i < samples.length; i++) samples[i] = 0.3 * Math.sin((2 * Math.PI * 220 * i) / RATE);
      return { wav: encodeTestWav(samples, RATE, 'pcm16'), retries: 0 };
    } finally {
      this.active--;
    }
  }
}

interface Posted {
  readonly via: 'followUp' | 'channel';
  readonly flags: number;
  readonly files: number;
  readonly content?: string;
}

type Refusal = { readonly code: number } | undefined;

function standIn(opts: { canSendVoice: boolean; followUpRefusal?: Refusal; channelRefusal?: Refusal }) {
  const posted: Posted[] = [];
  const send = (via: Posted['via'], refusal: Refusal) => async (m: { flags?: number; files?: unknown[]; content?: string }) => {
    if (refusal) throw Object.assign(new Error('refused'), refusal);
    posted.push({ via, flags: m.flags ?? 0, files: m.files?.length ?? 0, content: m.content });
  };
  const perms = new PermissionsBitField(opts.canSendVoice ? PermissionFlagsBits.SendVoiceMessages | PermissionFlagsBits.SendMessages : PermissionFlagsBits.SendMessages);
  const interaction = {
    appPermissions: perms,
    followUp: send('followUp', opts.followUpRefusal),
    channel: { isSendable: () => true, send: send('channel', opts.channelRefusal) },
  } as unknown as ChatInputCommandInteraction;
  return { interaction, posted };
}

async function narrate(opts: Parameters<typeof standIn>[0], attachmentSizeLimit = 10 * 1024 * 1024) {
  const backend = new ToneBackend();
  const orchestrator = new Orchestrator({ backend, scheduler: new FairScheduler(2), voices: ['narrator'], defaultVoice: 'narrator', defaultSpeed: 1, narrationTimeoutMs: 60_000 });
  const text = 'Câu thứ nhất kể về làng. Câu thứ hai kể về sông.';
  const plan = orchestrator.plan({ text });
  const track = new NarrationTrack({ text, voice: plan.voice, speed: plan.speed, chunksTotal: plan.chunks.length, requesterId: '1', requesterName: 'A' }, orchestrator);
  const edits: OutgoingMessage[] = [];
  const base: ReplyTarget = {
    expiresAt: Date.now() + 15 * 60_000,
    edit: async (m) => void edits.push(m),
    post: async () => assert.fail('no channel fallback expected'),
  };
  const { interaction, posted } = standIn(opts);
  const target = voiceMessageTarget(interaction, base, track, { lang: 'en', attachmentSizeLimit, logger: silentLogger });
  const detached = new DetachedNarrations(3);
  detached.start('g', track);
  await followTrack(track, target, { lang: 'en', attachmentSizeLimit: VOICE_MESSAGE_SOURCE_LIMIT, minIntervalMs: 0 });
  assert.equal(backend.active, 0, 'no synthesis left running');
  assert.equal(detached.size, 0);
  return { edits, posted, final: edits.at(-1)! };
}

describe('voice_message delivery', () => {
  test('as a follow-up: flagged 8192, no text, one file; the reply keeps the outcome and the text, without a file', async () => {
    const { posted, final } = await narrate({ canSendVoice: true });
    assert.deepEqual(posted, [{ via: 'followUp', flags: MessageFlags.IsVoiceMessage, files: 1, content: undefined }]);
    assert.match(final.content, /^✅ Narrated · 0:0\d · voice \*\*narrator\*\* · speed 1 · posted as a voice message below\n```\nCâu thứ nhất/);
    assert.equal(final.files?.length ?? 0, 0);
  });

  test('the follow-up route refused: posted as a channel message instead', async () => {
    const { posted, final } = await narrate({ canSendVoice: true, followUpRefusal: { code: 50035 } });
    assert.deepEqual(posted.map((p) => [p.via, p.flags]), [['channel', MessageFlags.IsVoiceMessage]]);
    assert.match(final.content, /posted as a voice message below/);
  });

  for (const [name, opts] of [
    ['no Send Voice Messages in the app permissions', { canSendVoice: false }],
    ['Discord answers 50173 to the follow-up', { canSendVoice: true, followUpRefusal: { code: 50173 } }],
    ['both routes refused, the channel with 50173', { canSendVoice: true, followUpRefusal: { code: 50035 }, channelRefusal: { code: 50173 } }],
  ] as const) {
    test(`${name}: the reply gets the WAV and says the permission is missing`, async () => {
      const { posted, final } = await narrate(opts);
      assert.equal(posted.length, 0, 'no voice message');
      assert.match(final.content, /as a file\n🎙️ I could not post it as a voice message \(I lack the \*\*Send Voice Messages\*\* permission here\)/);
      assert.deepEqual(final.files?.map((f) => f.name), ['narration.wav']);
    });
  }

  test('both routes refused for another reason: the file, and "Discord refused it"', async () => {
    const { posted, final } = await narrate({ canSendVoice: true, followUpRefusal: { code: 50035 }, channelRefusal: { code: 50013 } });
    assert.equal(posted.length, 0);
    assert.match(final.content, /\(Discord refused it\)/);
    assert.equal(final.files?.length, 1);
  });

  test('larger than the upload limit even as Ogg Opus: no voice message, the reply says why and that nothing fits', async () => {
    const { posted, final } = await narrate({ canSendVoice: true }, 2 * 1024);
    assert.equal(posted.length, 0, 'nothing posted as a voice message');
    assert.match(final.content, /🎙️ I could not post it as a voice message \(it is larger than this server’s upload limit\)/);
    assert.match(final.content, /\(The audio is too large to attach here\.\)/);
    assert.equal(final.files?.length ?? 0, 0);
  });
});
