/**
 * Where a `/narrate` goes besides the voice channel (`output:file`, `output:voice_message`), and the cold-start
 * notice every narration's reply may carry. Kept out of narrate.ts so that file stays about checks and queueing.
 *
 * Both are thin wrappers around the narration's ReplyTarget, so narrationReply.ts (progress, final message,
 * expired-token fallbacks) drives them unchanged:
 * - `file`: the final message says "as a file" instead of "could not play it in the voice channel"; the audio is
 *   attached as usual.
 * - `voice_message`: the final edit's audio is taken out of the reply (which keeps the text and the outcome) and
 *   posted as a native voice message — Ogg Opus mono 48 kHz, flag IS_VOICE_MESSAGE, `duration_secs` and `waveform`
 *   (services/audio/voiceMessage.ts), no text — as an interaction follow-up, or, if Discord refuses that route, a
 *   channel message. Without Send Voice Messages (known from the interaction's app permissions, or Discord's error
 *   50173), or when it is over the upload limit or refused, the reply gets the file instead and says why.
 * - cold start: while no audio is ready, a "the GPU is starting, first audio in about N s" line is inserted
 *   before the quoted text.
 */
import { AttachmentBuilder, MessageFlags, PermissionFlagsBits, type CommandInteraction } from 'discord.js';
import type { Logger } from 'pino';
import { voiceMessageAudio } from '../services/audio/voiceMessage.js';
import type { NarrationTrack } from '../services/playback/narrationTrack.js';
import type { OutgoingFile, OutgoingMessage, ReplyTarget } from '../services/playback/narrationReply.js';
import { formatDuration, texts, type Lang } from '../messages.js';

export const OUTPUTS = ['voice', 'file', 'voice_message'] as const;
export type NarrationOutput = (typeof OUTPUTS)[number];

/** Discord's error when the bot may not send voice messages in the channel. */
const VOICE_MESSAGES_NOT_ALLOWED = 50173;
/**
 * The final message of a voice_message narration is produced with this upload limit, so it always carries the
 * WAV (lossless, one decode away from the 48 kHz voice message); the real limit is applied to what is posted.
 */
export const VOICE_MESSAGE_SOURCE_LIMIT = 512 * 1024 * 1024;

export function parseOutput(value: string | null): NarrationOutput {
  return (OUTPUTS as readonly string[]).includes(value ?? '') ? (value as NarrationOutput) : 'voice';
}

/** Replaces the "could not play it in the voice channel" status of a no-voice narration by what really happened. */
function retitle(track: NarrationTrack, lang: Lang, content: string, mode: 'file' | 'voice_message'): string {
  const outcome = track.outcome;
  if (outcome?.kind !== 'completed') return content;
  const t = texts(lang);
  const duration = formatDuration(outcome.audio?.durationSec ?? outcome.summary.durationSec);
  const p = { duration, voice: track.voiceLabel, speed: track.request.speed };
  return content.replace(t.doneNoVoice({ duration }), mode === 'file' ? t.doneFile(p) : t.doneVoiceMessage(p));
}

/** Inserts `line` after the status, before the quoted text (or at the end). */
function withLine(content: string, line: string): string {
  const at = content.indexOf('\n```');
  return at < 0 ? `${content}\n${line}` : `${content.slice(0, at)}\n${line}${content.slice(at)}`;
}

/** While no audio is ready, the reply also says the GPU is starting (when `seconds()` says so). */
export function withColdStartNotice(target: ReplyTarget, track: NarrationTrack, lang: Lang, seconds: () => number | undefined): ReplyTarget {
  const decorate = (m: OutgoingMessage): OutgoingMessage => {
    const s = seconds();
    if (s === undefined || track.isFinished || track.snapshot().chunksReady > 0) return m;
    return { ...m, content: withLine(m.content, texts(lang).gpuStarting({ seconds: s })) };
  };
  return { ...target, edit: (m) => target.edit(decorate(m)), post: target.post, direct: target.direct, expiresAt: target.expiresAt };
}

/** `output:file`: the final message says "as a file". */
export function fileOutputTarget(target: ReplyTarget, track: NarrationTrack, lang: Lang): ReplyTarget {
  const fix = (m: OutgoingMessage): OutgoingMessage => ({ ...m, content: retitle(track, lang, m.content, 'file') });
  return {
    ...target,
    edit: (m) => target.edit(fix(m)),
    post: (m) => target.post(fix(m)),
    direct: target.direct && ((m) => target.direct!(fix(m))),
  };
}

export interface VoiceMessageOptions {
  readonly lang: Lang;
  /** The real upload limit of the server (`interaction.attachmentSizeLimit`). */
  readonly attachmentSizeLimit: number;
  readonly logger: Logger;
}

/**
 * `output:voice_message`: the final edit with the audio becomes a text-only reply plus a voice message. The token
 * fallbacks (channel post, DM after the token expired) keep the plain file: a late voice message without context
 * would be confusing.
 */
export function voiceMessageTarget(
  interaction: CommandInteraction,
  target: ReplyTarget,
  track: NarrationTrack,
  options: VoiceMessageOptions,
): ReplyTarget {
  const t = texts(options.lang);
  const asFile = (m: OutgoingMessage): OutgoingMessage => ({ ...m, content: retitle(track, options.lang, m.content, 'file') });
  const edit = async (m: OutgoingMessage): Promise<void> => {
    const wav = m.files?.find((f) => f.name.endsWith('.wav'));
    if (!track.isFinished || !wav || track.outcome?.kind !== 'completed') return target.edit(fitFiles(asFile(m), options.attachmentSizeLimit, t));
    const fallback = async (why: string, ogg?: OutgoingFile) => {
      options.logger.info({ track: track.id, why }, 'voice message not possible; attaching the file');
      const file = wav.data.byteLength <= options.attachmentSizeLimit ? wav : ogg && ogg.data.byteLength <= options.attachmentSizeLimit ? ogg : undefined;
      const content = withLine(asFile(m).content, t.voiceMessageFallback({ why }) + (file ? '' : `\n${t.attachmentTooLarge()}`));
      await target.edit({ content, files: file ? [file] : [] });
    };
    if (interaction.appPermissions && !interaction.appPermissions.has(PermissionFlagsBits.SendVoiceMessages)) {
      return fallback(t.voiceMessageNoPermission());
    }
    let audio;
    try {
      audio = await voiceMessageAudio(wav.data, options.attachmentSizeLimit);
    } catch (err) {
      options.logger.warn({ err: String(err) }, 'could not encode the voice message');
      return fallback(t.voiceMessageRefused());
    }
    if (audio === 'too_large') return fallback(t.voiceMessageTooLarge());
    const ogg: OutgoingFile = { name: 'voice-message.ogg', data: Buffer.from(audio.ogg), description: 'Narration (voice message)' };
    // The reply keeps the text and the outcome; the voice message carries only the audio.
    await target.edit({ content: retitle(track, options.lang, m.content, 'voice_message') });
    const message = {
      files: [new AttachmentBuilder(ogg.data, { name: ogg.name, duration: audio.durationSecs, waveform: audio.waveform })],
      flags: MessageFlags.IsVoiceMessage,
    } as const;
    try {
      await interaction.followUp(message);
      return;
    } catch (err) {
      if (discordCode(err) === VOICE_MESSAGES_NOT_ALLOWED) return fallback(t.voiceMessageNoPermission(), ogg);
      options.logger.info({ err: String(err) }, 'voice message refused as a follow-up; trying a channel message');
    }
    try {
      const channel = interaction.channel;
      if (!channel?.isSendable()) throw new Error('the channel is not available');
      await channel.send(message);
    } catch (err) {
      const code = discordCode(err);
      options.logger.warn({ err: String(err), code }, 'voice message refused');
      await fallback(code === VOICE_MESSAGES_NOT_ALLOWED ? t.voiceMessageNoPermission() : t.voiceMessageRefused(), ogg);
    }
  };
  return {
    ...target,
    edit,
    post: (m) => target.post(fitFiles(asFile(m), options.attachmentSizeLimit, t)),
    direct: target.direct && ((m) => target.direct!(fitFiles(asFile(m), options.attachmentSizeLimit, t))),
  };
}

/** A message produced with VOICE_MESSAGE_SOURCE_LIMIT, brought back under the real limit (files too large dropped). */
function fitFiles(m: OutgoingMessage, limit: number, t: ReturnType<typeof texts>): OutgoingMessage {
  if (!m.files?.length || m.files.every((f) => f.data.byteLength <= limit)) return m;
  return { content: withLine(m.content, t.attachmentTooLarge()), files: m.files.filter((f) => f.data.byteLength <= limit) };
}

function discordCode(err: unknown): number | undefined {
  const code = (err as { code?: unknown } | null)?.code;
  return typeof code === 'number' ? code : undefined;
}
