/**
 * Keeps a `/narrate` reply in step with its NarrationTrack: a progress bar while it waits, synthesizes and plays
 * (at most about one edit per second), then one final edit with the outcome, the audio file and the user's text.
 * While the narration is going, every edit carries the player buttons (playerControls.ts); the final edit carries
 * none, so they disappear with the narration.
 *
 * Discord-specific, but behind a small `ReplyTarget` so the logic — throttling, what the final message says, which
 * file format fits the upload limit, what happens when the interaction token expires — is testable without
 * Discord. An interaction token lives 15 minutes: past that (with a margin), or as soon as Discord answers that it
 * has expired (401 / 50027), progress edits stop — an expired token is never tried again — and the final message
 * goes to the channel instead, mentioning the requester; when the bot may not post there (View Channel, Send
 * Messages, Attach Files, checked first from the cache as discord.js computes them) or the post fails, it is sent to
 * the requester by DM, so the result (and its audio) is never lost silently.
 *
 * A narration resumed after a restart has no interaction object any more: `resumedReplyTarget` edits the same
 * reply through the interaction webhook (application id + token, stored with the queue) while the token is
 * valid, and posts in the text channel after that. A `notice` ("resumed after a restart") heads its progress.
 *
 * A narration too long even for Ogg Opus under the upload limit (a 49-minute chapter is ~12 MB; 10 MiB per file
 * without boosts) gets its audio in parts (audio/oggParts.ts), each a playable Ogg Opus file under the limit: the
 * final message carries part 1 and says how many there are and why; each further part is its own message, posted
 * the way the final message went (a follow-up of the interaction, or the channel, or the DM). One file per message,
 * because Discord has also limited a message's whole upload, not only each file; at most MAX_AUDIO_PARTS parts.
 * A part that cannot be posted is said so in the reply.
 */
import {
  AttachmentBuilder,
  PermissionFlagsBits,
  WebhookClient,
  type CommandInteraction,
  type Client,
  type TextBasedChannel,
  type User,
} from 'discord.js';
import type { Logger } from 'pino';
import { readFile } from 'node:fs/promises';
import type { RecordedAudio } from '../audio/narrationRecording.js';
import { splitOggOpus } from '../audio/oggParts.js';
import { NarratorError } from '../errors.js';
import { silentLogger } from '../log.js';
import { composeMessage, errorText, formatDuration, renderStatus, texts, type ErrorContext, type Lang } from '../../messages.js';
import type { NarrationTrack, TrackOutcome } from './narrationTrack.js';
import { controlRows, type ControlsView } from './playerControls.js';
import { ThrottledSender } from './throttledSender.js';

export interface OutgoingFile {
  readonly name: string;
  readonly data: Buffer;
  readonly description?: string;
}

export interface OutgoingMessage {
  readonly content: string;
  readonly files?: readonly OutgoingFile[];
  /** The player buttons; an edit without them removes them. */
  readonly controls?: ControlsView;
}

export interface ReplyTarget {
  /** Edits the original reply (the deferred one). */
  edit(message: OutgoingMessage): Promise<void>;
  /**
   * Posts a new message in the channel (after the token has expired). Rejects, without trying, when the bot may
   * not post it there.
   */
  post(message: OutgoingMessage): Promise<void>;
  /** Sends the message to the requester by DM (when the channel cannot take it). */
  direct?(message: OutgoingMessage): Promise<void>;
  /**
   * Posts a further message after the reply, through the interaction (a follow-up: no channel permission needed).
   * Only while the token is valid; without it, further messages go to the channel (`post`).
   */
  followUp?(message: OutgoingMessage): Promise<void>;
  /** The channel the command was used in (for the DM's "in #channel"). */
  readonly channelId?: string | null;
  /** When the interaction token stops working (ms since the epoch). */
  readonly expiresAt: number;
}

/** An interaction token is valid for 15 minutes after the interaction was created. */
export const INTERACTION_TOKEN_TTL_MS = 15 * 60_000;
/** Stop using the token this long before it expires: an upload of a few MB can take a while. */
export const TOKEN_MARGIN_MS = 60_000;
/** Most audio parts one narration posts (a 49-minute chapter needs 2 under a 10 MiB limit; 10 hold ~5 hours). */
export const MAX_AUDIO_PARTS = 10;
/** Discord's answers when a webhook token is no longer valid. */
const EXPIRED_TOKEN_CODES = new Set([50027, 10015]);

export interface FollowTrackOptions {
  readonly lang: Lang;
  /** Largest file the reply may carry (`interaction.attachmentSizeLimit`). */
  readonly attachmentSizeLimit: number;
  /** The bot's current voice channel, for "Playing in #channel". */
  readonly voiceChannelId?: () => string | null | undefined;
  readonly errorContext?: ErrorContext;
  readonly minIntervalMs?: number;
  readonly now?: () => number;
  readonly logger?: Logger;
  /** Show the player buttons while the narration goes on (default true; false for a narration not played in voice). */
  readonly controls?: boolean;
  /** A line above the progress while the narration runs (e.g. "resumed after a restart"). */
  readonly notice?: string;
}

/** Mirrors the track into its reply until the track finishes; resolves once the final message is out (or failed). */
export async function followTrack(track: NarrationTrack, target: ReplyTarget, options: FollowTrackOptions): Promise<void> {
  const log = options.logger ?? silentLogger;
  const now = options.now ?? Date.now;
  const t = texts(options.lang);
  // Set when Discord says the token has expired: from then on it is never used again.
  let tokenDead = false;
  const tokenUsable = () => !tokenDead && now() < target.expiresAt - TOKEN_MARGIN_MS;
  let lastContent = '';
  const sender = new ThrottledSender<OutgoingMessage>(
    async (message) => {
      if (tokenDead) return; // an edit offered before Discord said the token had expired
      const shown = `${message.content}\u0000${JSON.stringify(message.controls ?? null)}`;
      if (shown === lastContent && !message.files?.length) return;
      lastContent = shown;
      await target.edit(message);
    },
    {
      minIntervalMs: options.minIntervalMs ?? 1_000,
      onError: (err) => {
        if (isExpiredToken(err)) tokenDead = true;
        log.debug({ err: String(err) }, 'progress edit failed');
      },
    },
  );

  const render = (): OutgoingMessage => {
    const s = track.snapshot();
    const phase = s.phase === 'finished' ? 'playing' : s.phase;
    const status = renderStatus(
      options.lang,
      { ...s, phase, channelId: options.voiceChannelId?.() ?? undefined },
      options.errorContext,
    );
    const controls = options.controls === false ? undefined : { narrationId: track.id, queued: s.phase === 'queued', paused: s.pausedBy !== undefined };
    return { content: composeFor(track, options.notice ? `${options.notice}\n${status}` : status), controls };
  };
  const onChange = () => {
    if (!track.isFinished && tokenUsable()) sender.offer(render());
  };
  track.on('change', onChange);
  onChange();

  const outcome = await track.finished;
  track.off('change', onChange);
  const final = await finalMessage(track, outcome, options);

  // The token is gone: the channel, or else a DM to the requester. Never the token again.
  const viaChannel = async (): Promise<Route> => {
    const prefix = t.tokenExpiredPrefix({ userId: track.request.requesterId });
    try {
      await target.post({ ...final, content: composeFor(track, `${prefix}\n${final.status}`) });
      return 'channel';
    } catch (err) {
      if (!target.direct) throw err;
      log.info({ err: String(err) }, 'cannot post the narration result in the channel; sending it by DM');
    }
    const dmPrefix = target.channelId ? t.resultByDm({ channelId: target.channelId }) : t.resultByDmNoChannel();
    await target.direct({ ...final, content: composeFor(track, `${dmPrefix}\n${final.status}`) });
    return 'dm';
  };
  const fallback = () =>
    viaChannel().catch((postErr: unknown) => {
      log.warn({ err: String(postErr) }, 'could not deliver the narration result (channel or DM)');
      return undefined;
    });
  /** How the final message (with part 1 of the audio) went: further parts follow the same way. */
  let route: Route | undefined;
  try {
    if (tokenUsable()) {
      await sender.finish({ content: final.content, files: final.files });
      if (!tokenDead) route = 'reply';
    } else {
      await sender.close();
      route = await fallback();
    }
  } catch (err) {
    if (isExpiredToken(err)) {
      tokenDead = true;
      route = await fallback();
    } else if (final.files?.length) {
      // Most likely the upload itself was refused (too large after all): say so rather than leave a stale bar.
      log.warn({ err: String(err) }, 'final edit with the audio failed; retrying without it');
      const status = `${final.status}\n${t.attachmentTooLarge()}`;
      await target
        .edit({ content: composeFor(track, status) })
        .catch((retryErr: unknown) => log.warn({ err: String(retryErr) }, 'could not send the narration result'));
    } else {
      log.warn({ err: String(err) }, 'could not send the narration result');
    }
  }
  if (route && final.moreParts?.length) {
    await postMoreParts(final, route, { target, tokenUsable, lang: options.lang, text: track.request.text, log });
  }
}

/** Where the final message went: the reply itself, a channel post, or a DM. */
type Route = 'reply' | 'channel' | 'dm';

/**
 * Posts audio parts 2…N, one message each, the way the final message went; stops at the first refusal and says
 * in the reply (or, off the reply, in one more message the same way) how many parts arrived.
 */
async function postMoreParts(
  final: FinalMessage,
  route: Route,
  ctx: { target: ReplyTarget; tokenUsable: () => boolean; lang: Lang; text: string; log: Logger },
): Promise<void> {
  const { target, log } = ctx;
  const parts = final.moreParts!.length + 1;
  const send = (message: OutgoingMessage): Promise<void> => {
    if (route === 'dm') return target.direct!(message);
    if (route === 'reply' && target.followUp && ctx.tokenUsable()) return target.followUp(message);
    return target.post(message);
  };
  let posted = 1;
  for (const message of final.moreParts!) {
    try {
      await send(message);
      posted++;
    } catch (err) {
      log.warn({ err: String(err), part: posted + 1, parts }, 'could not post a part of the narration audio');
      break;
    }
  }
  if (posted === parts) return;
  const missing = texts(ctx.lang).audioPartsMissing({ posted, parts });
  try {
    if (route === 'reply' && ctx.tokenUsable()) {
      // Without `files` the edit keeps the attachment (part 1) the reply already has.
      await target.edit({ content: composeMessage(`${final.status}\n${missing}`, ctx.text) });
    } else {
      await send({ content: missing });
    }
  } catch (err) {
    log.warn({ err: String(err) }, 'could not say that parts of the audio are missing');
  }
}

interface FinalMessage extends OutgoingMessage {
  readonly status: string;
  /** Audio parts 2…N (one file per message), when the audio came in parts; part 1 is in `files`. */
  readonly moreParts?: readonly OutgoingMessage[];
}

/** What the reply says when the narration is over, with the audio attached when there is some. */
export async function finalMessage(
  track: NarrationTrack,
  outcome: TrackOutcome,
  options: Pick<FollowTrackOptions, 'lang' | 'attachmentSizeLimit' | 'errorContext'>,
): Promise<FinalMessage> {
  const t = texts(options.lang);
  let status: string;
  let audio: RecordedAudio | undefined;
  switch (outcome.kind) {
    case 'completed': {
      const duration = formatDuration(outcome.audio?.durationSec ?? outcome.summary.durationSec);
      status = outcome.played
        ? t.done({ duration, voice: track.voiceLabel, speed: track.request.speed })
        : t.doneNoVoice({ duration });
      audio = outcome.audio;
      break;
    }
    case 'failed': {
      const reason = errorText(options.lang, outcome.error, options.errorContext);
      status = outcome.audio
        ? t.failedPartial({ done: outcome.chunksDone, total: outcome.chunksTotal, reason })
        : t.failed({ reason });
      audio = outcome.audio;
      break;
    }
    case 'cancelled':
      // Suspended by a shutdown, stored in the persisted queue: it continues after the restart.
      status = outcome.reason === 'shutdown' && track.resumable ? t.suspendedForRestart() : t.cancelled({ reason: outcome.reason, by: outcome.by });
      break;
  }
  let files: OutgoingFile[] | undefined;
  let moreParts: OutgoingMessage[] | undefined;
  if (outcome.kind === 'completed' && !audio) status += `\n${t.attachmentFailed()}`; // the recording failed
  if (audio) {
    // A read failure must not keep the final message from being sent. The recording's files go either way.
    const recorded = audio;
    const fitted = await audioFiles(recorded, options.attachmentSizeLimit)
      .catch(() => null)
      .finally(() => recorded.dispose());
    if (fitted === null) {
      status += `\n${t.attachmentFailed()}`;
    } else if ('tooManyParts' in fitted) {
      status += `\n${t.audioTooManyParts({ parts: fitted.tooManyParts, max: MAX_AUDIO_PARTS })}`;
    } else if (fitted.files.length === 0) {
      status += `\n${t.attachmentTooLarge()}`;
    } else if (fitted.files.length === 1) {
      files = [fitted.files[0]!];
      if (fitted.files[0]!.name.endsWith('.ogg')) status += `\n${t.attachmentCompressed()}`;
    } else {
      const parts = fitted.files.length;
      files = [fitted.files[0]!];
      status += `\n${t.audioInParts({ parts, limit: formatBytes(options.attachmentSizeLimit) })}`;
      moreParts = fitted.files.slice(1).map((file, i) => ({ content: t.audioPart({ part: i + 2, parts }), files: [file] }));
    }
  }
  return { status, content: composeFor(track, status), files, moreParts };
}

/**
 * The files that carry the audio under the limit: the WAV or the Ogg Opus file (as `audioAttachment`), else the
 * Ogg Opus recording in parts (one file per message), else none (`files: []`), or how many parts it would take
 * when that is more than MAX_AUDIO_PARTS.
 */
export async function audioFiles(audio: RecordedAudio, limitBytes: number): Promise<{ files: OutgoingFile[] } | { tooManyParts: number }> {
  const single = await audioAttachment(audio, limitBytes);
  if (single) return { files: [single] };
  if (!audio.ogg) return { files: [] };
  const parts = splitOggOpus(await readFile(audio.ogg.path), limitBytes);
  if (!parts) return { files: [] };
  if (parts.length > MAX_AUDIO_PARTS) return { tooManyParts: parts.length };
  return {
    files: parts.map((part, i) => ({
      name: `narration-part${i + 1}-of-${parts.length}.ogg`,
      data: part.data,
      description: `Narration (Ogg Opus), part ${i + 1}/${parts.length}, ${formatDuration(part.durationSec)}`,
    })),
  };
}

/** An upload limit as users know it: "10 MB", "512 KB" (binary units, as Discord counts). */
function formatBytes(bytes: number): string {
  const mb = bytes / (1024 * 1024);
  if (mb >= 1) return `${Number.isInteger(mb) ? mb : mb.toFixed(1)} MB`;
  return `${Math.max(1, Math.round(bytes / 1024))} KB`;
}

/**
 * WAV (16-bit, the engine's rate — plays everywhere, lossless) when it fits the upload limit; otherwise Ogg Opus,
 * which Discord plays inline at a tenth of the size; undefined when even that is too large (or not available).
 * Both were written while the narration played (NarrationRecording): this only reads the one that fits.
 */
export async function audioAttachment(audio: RecordedAudio, limitBytes: number): Promise<OutgoingFile | undefined> {
  if (audio.wav.bytes <= limitBytes) {
    return { name: 'narration.wav', data: await readFile(audio.wav.path), description: 'Narration (WAV)' };
  }
  if (audio.ogg && audio.ogg.bytes <= limitBytes) {
    return { name: 'narration.ogg', data: await readFile(audio.ogg.path), description: 'Narration (Ogg Opus)' };
  }
  return undefined;
}

/** The files of a message as discord.js sends them. */
function attachments(message: OutgoingMessage): AttachmentBuilder[] | undefined {
  return message.files?.map((f) => new AttachmentBuilder(f.data, { name: f.name, description: f.description }));
}

/**
 * Posts in a text channel, mentioning (and only pinging) the requester. Checks first, from the cache, as
 * discord.js computes it: a refused post is a wasted upload of the audio.
 */
async function postInChannel(channel: TextBasedChannel | null | undefined, me: User, message: OutgoingMessage, requesterId: string): Promise<void> {
  if (!channel?.isSendable()) throw new NarratorError('permanent', 'cannot_post', 'The command channel is not available to post in.');
  if (!channel.isDMBased()) {
    const perms = channel.permissionsFor(me);
    const needed = [
      PermissionFlagsBits.ViewChannel,
      channel.isThread() ? PermissionFlagsBits.SendMessagesInThreads : PermissionFlagsBits.SendMessages,
      ...(message.files?.length ? [PermissionFlagsBits.AttachFiles] : []),
    ];
    if (!perms || !needed.every((p) => perms.has(p))) {
      throw new NarratorError('permanent', 'cannot_post', 'The bot may not post this message in the command channel.');
    }
  }
  await channel.send({ content: message.content, files: attachments(message), allowedMentions: { users: [requesterId] } });
}

export interface ResumedReplyOptions {
  readonly client: Client<true>;
  /** Discord's REST base (DISCORD_API_BASE_URL), for the webhook calls. */
  readonly apiBaseUrl: string;
  readonly applicationId?: string;
  readonly interactionToken?: string;
  /** When the interaction was received (ms since the epoch): its token lives 15 minutes from then. */
  readonly createdAt: number;
  readonly textChannelId: string;
  readonly requesterId: string;
}

/**
 * The ReplyTarget of a narration resumed after a restart: the original reply, edited through the interaction
 * webhook while its token is valid; the text channel (or a DM) after that. `dispose()` when done.
 */
export function resumedReplyTarget(opts: ResumedReplyOptions): ReplyTarget & { readonly tokenValid: boolean; dispose(): void } {
  const webhook =
    opts.applicationId && opts.interactionToken
      ? new WebhookClient({ id: opts.applicationId, token: opts.interactionToken }, { rest: { api: opts.apiBaseUrl } })
      : undefined;
  const expiresAt = webhook ? opts.createdAt + INTERACTION_TOKEN_TTL_MS : 0;
  const channel = () => {
    const c = opts.client.channels.cache.get(opts.textChannelId);
    return c?.isSendable() ? c : undefined;
  };
  return {
    expiresAt,
    tokenValid: Date.now() < expiresAt - TOKEN_MARGIN_MS,
    channelId: opts.textChannelId,
    edit: async (message) => {
      if (!webhook) throw new NarratorError('permanent', 'no_token', 'No interaction token to edit the reply with.');
      await webhook.editMessage('@original', { content: message.content, files: attachments(message), allowedMentions: { parse: [] } });
    },
    post: (message) => postInChannel(channel(), opts.client.user, message, opts.requesterId),
    direct: async (message) => {
      await opts.client.users.send(opts.requesterId, { content: message.content, files: attachments(message), allowedMentions: { parse: [] } });
    },
    ...(webhook
      ? {
          followUp: async (message: OutgoingMessage) => {
            await webhook.send({ content: message.content, files: attachments(message), allowedMentions: { parse: [] } });
          },
        }
      : {}),
    dispose: () => webhook?.destroy(),
  };
}

function isExpiredToken(err: unknown): boolean {
  const code = (err as { code?: unknown } | null)?.code;
  const status = (err as { status?: unknown } | null)?.status;
  return (typeof code === 'number' && EXPIRED_TOKEN_CODES.has(code)) || status === 401;
}

/**
 * The ReplyTarget of a deferred command interaction (a slash command or a message context-menu command).
 * Mentions in the echoed text never ping anyone.
 * `receivedAt` is when the bot received the interaction (Date.now() at the start of the handler): the token's
 * life is counted from there rather than from the id's timestamp, which is only as right as the two clocks.
 */
export function interactionReplyTarget(interaction: CommandInteraction, receivedAt: number): ReplyTarget {
  const files = (message: OutgoingMessage) =>
    message.files?.map((f) => new AttachmentBuilder(f.data, { name: f.name, description: f.description }));
  const created = interaction.createdTimestamp;
  // The id's timestamp is Discord's clock: use it (the earlier, safer start) only when it agrees with ours.
  const start = Math.abs(receivedAt - created) < 60_000 ? Math.min(created, receivedAt) : receivedAt;
  return {
    expiresAt: start + INTERACTION_TOKEN_TTL_MS,
    edit: async (message) => {
      // Always sent: an edit without controls (the final one) removes the buttons.
      const components = message.controls ? controlRows(message.controls) : [];
      await interaction.editReply({ content: message.content, files: files(message), components, allowedMentions: { parse: [] } });
    },
    channelId: interaction.channelId,
    post: (message) => postInChannel(interaction.channel, interaction.client.user, message, interaction.user.id),
    direct: async (message) => {
      await interaction.user.send({ content: message.content, files: files(message), allowedMentions: { parse: [] } });
    },
    followUp: async (message) => {
      await interaction.followUp({ content: message.content, files: files(message), allowedMentions: { parse: [] } });
    },
  };
}

/**
 * The status, then what the narration reads: a link to its source on its own line (it must render, so it is not
 * quoted), then the quote — the file's name for a file, else the text itself.
 */
function composeFor(track: NarrationTrack, status: string): string {
  const { text, quote, sourceLink } = track.request;
  return composeMessage(sourceLink ? `${status}\n${sourceLink}` : status, quote ?? text);
}
