/**
 * The one narration flow every way in shares — `/narrate text:`, `/narrate file:` and the "Narrate" message
 * command: checks → admission → defer → queue → follow. The commands only say where the text comes from
 * (a NarrationInput) and which options were given; everything below is the same for all of them.
 *
 * Everything that can be refused is refused before the reply is deferred, with an ephemeral message: the bot is
 * restarting, not in a voice channel (or in the server's AFK channel, where nobody can hear), the bot may not
 * connect/speak there, the bot is busy in another channel, a full queue. These checks are synchronous and read
 * Discord's cache, so they answer well within the 3 s Discord allows. Only then is the reply deferred (publicly:
 * others in the channel see what is being read).
 *
 * The defer is an await, and while it runs another narration of the same server, a /leave or a shutdown may have
 * changed everything. So after it the state-dependent checks run again, and re-check → join → enqueue happen with
 * no await in between (atomic per guild; PlaybackManager.join also refuses to move a session that has work). A
 * refusal found only then is made as private as an early one: the public "thinking…" placeholder is deleted and
 * the refusal sent as an ephemeral follow-up. (Deferring ephemerally instead would make the accepted narration's
 * progress and audio private too, or need a second public message: a public defer keeps the common path simple,
 * and a late refusal — a race — costs only a placeholder that vanishes.) Nothing is synthesized for a refusal.
 * Once queued, the narration's reply follows it from there (services/playback/narrationReply.ts).
 *
 * `output:file` and `output:voice_message` need no voice channel: the voice checks are skipped, nothing is joined,
 * and the track runs in ctx.detached (same engine, scheduler and per-server limit, no voice queue); narrateOutput.ts
 * shapes their reply. On RunPod the reply also says when the GPU is starting (cold start), for every output.
 *
 * The async phase: a file's text is downloaded and decoded (services/input), then the server settings and spending
 * limits (issue 10) — voice and speed from the option, else the member's preference, else the server's default,
 * else the config's; the narrator role; the plan with the server's dictionary and per-narration limit (a file's own,
 * higher default when the server set none); the reservation of the characters still to synthesize. A refusal says
 * which limit, the numbers and when it resets; a storage that does not answer refuses (never narrate without
 * limits). When this phase takes longer than DEFER_AFTER_MS the reply is deferred meanwhile, and a refusal found
 * after that is made private the same way as a late one. From the reservation on, every path ends either in the
 * ledger binding (which settles the row when the narration ends) or in settling it at once.
 *
 * The checks themselves live in admission.ts; resumeQueue.ts continues the persisted queue after a restart.
 */
import { MessageFlags, type ChatInputCommandInteraction, type MessageContextMenuCommandInteraction } from 'discord.js';
import { SPEED_MAX, SPEED_MIN } from '../services/config.js';
import { isNarratorError } from '../services/errors.js';
import { NarrationTrack } from '../services/playback/narrationTrack.js';
import { bindLedger } from '../services/playback/narrationLedger.js';
import { followTrack, INTERACTION_TOKEN_TTL_MS, interactionReplyTarget } from '../services/playback/narrationReply.js';
import { checkVoiceAccess } from '../services/playback/voiceAccess.js';
import { errorText, langOf, texts, type ErrorContext } from '../messages.js';
import { admit, MAX_TEXT_CHARS, settleUnused, type Admission } from './admission.js';
import { DEFAULT_ATTACHMENT_LIMIT } from './common.js';
import { parseOutput, fileOutputTarget, voiceMessageTarget, withColdStartNotice, VOICE_MESSAGE_SOURCE_LIMIT } from './narrateOutput.js';
import type { CommandContext } from './types.js';

/**
 * The async phase (file download, settings, limits) may run this long after Discord created the interaction before
 * the reply is deferred. Discord allows 3 s counted on its side: the gateway's delivery, the bot's event-loop lag
 * before the handler ran and the callback's own round trip all come out of it, so the timer counts from the
 * interaction's creation (its snowflake), not from when the handler started, and leaves two thirds for the rest.
 */
const DEFER_AFTER_MS = 1_000;

/** The interactions that start a narration. */
export type NarrationInteraction = ChatInputCommandInteraction | MessageContextMenuCommandInteraction;

type MentionResolver = (kind: 'user' | 'role' | 'channel', id: string) => string | undefined;

/** Where the text comes from and how the reply shows it. */
export interface NarrationInput {
  /**
   * The text, read in the async phase (after the quick checks, while the defer timer runs): a file is downloaded
   * here. A NarratorError of kind `user` (a TextFileError, "nothing to read") is a refusal; anything else is a bug.
   */
  load(): Promise<string>;
  /** The per-narration limit when the server set none (default: a typed text's, MAX_TEXT_CHARS). */
  readonly defaultMaxChars?: number;
  /** What the reply quotes instead of the text (a file's name). */
  readonly quote?: string;
  /** A line under the reply's status: where the text came from (the message read). */
  readonly sourceLink?: string;
  /** Names for mentions the guild's cache may not hold (a message's own resolved mentions). */
  readonly mentionNames?: MentionResolver;
}

export interface NarrationOptions {
  /** As given in the command's options (undefined: not given; preferences and defaults apply). */
  readonly voice?: string;
  readonly speed?: number;
  /** The `output` option as given (null: not given — the voice channel, and the refusal suggests the others). */
  readonly output: string | null;
  /** What a caller in no voice channel is told, when the command has no `output` option to suggest. */
  readonly notInVoice?: string;
}

/** Runs one narration from an interaction to its final reply (see the header for the order of things). */
export async function runNarration(interaction: NarrationInteraction, ctx: CommandContext, input: NarrationInput, options: NarrationOptions): Promise<void> {
  const receivedAt = Date.now();
  const lang = langOf(interaction.locale);
  const t = texts(lang);
  const refuse = (content: string) =>
    interaction.reply({ content, flags: MessageFlags.Ephemeral, allowedMentions: { parse: [] } }).then(() => undefined);
  if (!interaction.inCachedGuild()) return refuse(t.guildOnly());
  if (ctx.shuttingDown?.()) return refuse(t.shuttingDown());

  const outputChoice = options.output;
  const outputMode = parseOutput(outputChoice);
  const detached = outputMode === 'voice' ? undefined : ctx.detached;
  if (outputMode !== 'voice' && !detached) return refuse(t.errUnexpected());
  // A file or voice message needs no voice channel: the voice checks apply to `voice` only.
  const access = detached ? undefined : checkVoiceAccess(interaction.member, interaction.guild.members.me);
  if (access && !access.ok) {
    switch (access.problem) {
      case 'not_in_voice':
        return refuse(options.notInVoice ?? (outputChoice === null ? t.notInVoiceTryOutputs() : t.notInVoice()));
      case 'stage_channel':
        return refuse(t.stageNotSupported());
      case 'channel_full':
        return refuse(t.channelFull({ channelId: access.channelId }));
      case 'missing_permissions':
        return refuse(t.missingVoicePermissions({ channelId: access.channelId, missing: t.permissionWords(access.missing) }));
    }
  }
  const channel = access?.channel;
  // Discord moves idle members into the AFK channel and nobody hears anything there.
  if (channel && interaction.guild.afkChannelId === channel.id) return refuse(t.afkChannel({ channelId: channel.id }));

  const errorContext: ErrorContext = {
    voices: ctx.config.voices,
    speedMin: SPEED_MIN,
    speedMax: SPEED_MAX,
    maxQueue: ctx.config.discord.maxQueuePerGuild,
  };
  const guild = interaction.guild;
  const resolveMention: MentionResolver = (kind, id) => {
    if (kind === 'user') return guild.members.cache.get(id)?.displayName ?? interaction.client.users.cache.get(id)?.displayName ?? input.mentionNames?.(kind, id);
    if (kind === 'role') return guild.roles.cache.get(id)?.name ?? input.mentionNames?.(kind, id);
    return guild.channels.cache.get(id)?.name ?? input.mentionNames?.(kind, id);
  };
  /** Why the server's state refuses this narration now, or undefined. Synchronous: read again after any await. */
  const stateRefusal = (): string | undefined => {
    if (ctx.shuttingDown?.() || ctx.playback.isClosed || detached?.isClosed) return t.shuttingDown();
    if (detached) return detached.isFull(guild.id) ? t.queueFull({ max: ctx.config.discord.maxQueuePerGuild }) : undefined;
    const existing = ctx.playback.get(guild.id);
    if (!existing || existing.hasEnded) return undefined;
    if (existing.busy && existing.channelId && existing.channelId !== channel?.id) return t.busyElsewhere({ channelId: existing.channelId });
    if (existing.isQueueFull) return t.queueFull({ max: ctx.config.discord.maxQueuePerGuild });
    return undefined;
  };
  const early = stateRefusal();
  if (early !== undefined) return refuse(early);

  // Asked while the checks and the defer are in flight, answered (bounded) before the reply starts: "the GPU is starting".
  const coldProbe = ctx.warmUp?.coldNotice();
  // Loading, settings, role, plan, reservation: async, so the reply is deferred meanwhile if they are slow.
  let deferring: Promise<unknown> | undefined;
  const deferTimer = setTimeout(() => {
    deferring = interaction.deferReply().then(
      () => undefined,
      (err: unknown) => err,
    );
  }, deferDelay(interaction.createdTimestamp));
  const defaultMaxChars = input.defaultMaxChars ?? MAX_TEXT_CHARS;
  let text = '';
  let admission: Admission;
  try {
    admission = await input.load().then(
      (loaded) => {
        text = loaded;
        return admit(ctx, {
          guildId: guild.id,
          userId: interaction.user.id,
          memberRoles: (roleId) => interaction.member.roles.cache.has(roleId),
          text,
          defaultMaxChars,
          voice: options.voice,
          speed: options.speed,
          resolveMention,
          lang,
          errorContext,
        });
      },
      (err: unknown): Admission => {
        // The text could not be had (a file that is too large, binary, not UTF-8…): a refusal naming the problem.
        if (!isNarratorError(err, 'user')) throw err;
        ctx.logger.info({ guild: guild.id, code: err.code, detail: err.detail }, 'narration input refused');
        return { ok: false, refusal: errorText(lang, err, errorContext) };
      },
    );
  } catch (err) {
    // Unexpected (storage errors are refusals): let a defer in flight land first, so the report can edit it.
    clearTimeout(deferTimer);
    if (deferring) await deferring;
    throw err;
  }
  clearTimeout(deferTimer);
  const release = (why: string) => {
    if (!admission.ok || !admission.reservation || !ctx.storage) return;
    ctx.logger.info({ guild: guild.id, why }, 'narration not queued; its reservation is given back');
    ctx.background(settleUnused(ctx.storage, admission.reservation));
  };
  const deferError = deferring ? await deferring : undefined;
  if (deferError !== undefined) {
    release('the reply could not be deferred');
    throw deferError;
  }
  const refuseLate = (content: string) => refusePrivatelyAfterDefer(interaction, content, ctx);
  if (!admission.ok) return deferring ? refuseLate(admission.refusal) : refuse(admission.refusal);
  const { plan, settings, dictionary } = admission;

  if (!deferring) {
    // The server may have changed during the checks (another narration queued, a /leave): still private now.
    const changed = stateRefusal();
    if (changed !== undefined) {
      release('refused before the defer');
      return refuse(changed);
    }
    try {
      await interaction.deferReply();
    } catch (err) {
      release('the reply could not be deferred');
      throw err;
    }
  }

  // --- after the await: check again, then join and enqueue with no await in between ---
  const late = stateRefusal();
  if (late !== undefined) {
    ctx.logger.info({ guild: guild.id }, 'narration refused after the defer (the server changed meanwhile)');
    release('refused after the defer');
    return refuseLate(late);
  }
  const maxTextChars = settings?.maxChars ?? defaultMaxChars;
  const track = new NarrationTrack(
    {
      text,
      voice: plan.voice,
      speed: plan.speed,
      chunksTotal: plan.chunks.length,
      requesterId: interaction.user.id,
      requesterName: interaction.member.displayName,
      maxTextChars,
      resolveMention,
      ...(dictionary.length ? { dictionary } : {}),
      ...(settings && Object.keys(settings.aliases).length ? { aliases: settings.aliases } : {}),
      ...(plan.voices.length > 1 ? { voices: plan.voices } : {}),
      ...(input.quote !== undefined ? { quote: input.quote } : {}),
      ...(input.sourceLink !== undefined ? { sourceLink: input.sourceLink } : {}),
    },
    ctx.orchestrator,
    ctx.logger,
  );
  let session;
  try {
    if (detached) detached.start(guild.id, track);
    else {
      session = ctx.playback.join({ guildId: guild.id, channelId: channel!.id, adapterCreator: guild.voiceAdapterCreator });
      session.enqueue(track);
    }
  } catch (err) {
    ctx.logger.warn({ guild: guild.id, err: String(err) }, 'could not queue a narration');
    release('could not be queued');
    if (isNarratorError(err) && err.code === 'busy_elsewhere' && err.detail) return refuseLate(t.busyElsewhere({ channelId: err.detail }));
    return refuseLate(errorText(lang, err, errorContext));
  }
  ctx.logger.info(
    { guild: guild.id, track: track.id, narration: admission.reservation, chunks: plan.chunks.length, chars: text.length, voice: plan.voice },
    'narration queued',
  );
  const replyTarget = interactionReplyTarget(interaction, receivedAt);
  if (ctx.storage && admission.reservation) {
    // The ledger row settles when the track ends; the queue entry lets a restart continue it.
    ctx.background(
      bindLedger(track, {
        storage: ctx.storage,
        narrationId: admission.reservation,
        logger: ctx.logger,
        // Only voice narrations go back into a voice queue after a restart; a file or voice message is settled.
        // A file's text is stored whole (it is what a restart reads again: the attachment's URL expires).
        persist: channel && {
          guildId: guild.id,
          voiceChannelId: channel.id,
          textChannelId: interaction.channelId,
          userId: interaction.user.id,
          text,
          voice: plan.voice,
          speed: plan.speed,
          locale: interaction.locale,
          ...(input.quote !== undefined ? { quote: input.quote } : {}),
          ...(input.sourceLink !== undefined ? { sourceLink: input.sourceLink } : {}),
          interactionToken: interaction.token,
          applicationId: interaction.applicationId,
          // When the token's 15 minutes started (as the reply target counts them).
          createdAt: replyTarget.expiresAt - INTERACTION_TOKEN_TTL_MS,
        },
      }),
    );
  }
  const joined = session;
  const attachmentSizeLimit = interaction.attachmentSizeLimit || DEFAULT_ATTACHMENT_LIMIT;
  let target = replyTarget;
  if (outputMode === 'file') target = fileOutputTarget(target, track, lang);
  if (outputMode === 'voice_message') target = voiceMessageTarget(interaction, target, track, { lang, attachmentSizeLimit, logger: ctx.logger });
  ctx.warmUp?.activity();
  ctx.background(
    followColdStart(ctx, track, coldProbe).then((coldSec) =>
      followTrack(track, withColdStartNotice(target, track, lang, () => coldSec), {
        lang,
        attachmentSizeLimit: outputMode === 'voice_message' ? VOICE_MESSAGE_SOURCE_LIMIT : attachmentSizeLimit,
        voiceChannelId: () => joined?.channelId,
        errorContext,
        logger: ctx.logger,
        // The player buttons act on a voice channel's playback: a file or a voice message has none.
        controls: outputMode === 'voice',
      }),
    ),
  );
}

/**
 * The cold-start probe's answer (seconds, or undefined when warm/unknown). When the endpoint was cold, the time
 * to this narration's first audio is recorded as the new estimate, and keep-warm is told when it ends.
 */
async function followColdStart(ctx: CommandContext, track: NarrationTrack, probe: Promise<number | undefined> | undefined): Promise<number | undefined> {
  const queuedAt = performance.now();
  const coldSec = await probe?.catch(() => undefined);
  if (coldSec !== undefined) {
    const onChange = () => {
      if (track.snapshot().chunksReady === 0) return;
      track.off('change', onChange);
      ctx.warmUp?.recordColdStart(performance.now() - queuedAt);
    };
    track.on('change', onChange);
    void track.finished.then(() => track.off('change', onChange));
  }
  void track.finished.then(() => ctx.warmUp?.activity());
  return coldSec;
}

/**
 * How long the async phase may still run before the defer: DEFER_AFTER_MS from the interaction's creation, never more
 * than DEFER_AFTER_MS from now (a clock behind Discord's) and at once when that moment has passed (a late delivery, a
 * clock ahead: a refusal then comes as a private follow-up, which costs nothing).
 */
export function deferDelay(createdTimestamp: number, now = Date.now()): number {
  const left = createdTimestamp + DEFER_AFTER_MS - now;
  return Number.isFinite(left) ? Math.min(DEFER_AFTER_MS, Math.max(0, left)) : DEFER_AFTER_MS;
}

/**
 * A refusal found after the public defer, made as private as an early one: the "thinking…" placeholder is deleted
 * (only the caller then sees the answer, as an ephemeral follow-up). If the delete fails, the placeholder is
 * edited instead — never left spinning.
 */
async function refusePrivatelyAfterDefer(interaction: NarrationInteraction, content: string, ctx: CommandContext): Promise<void> {
  try {
    await interaction.deleteReply();
  } catch (err) {
    ctx.logger.warn({ err: String(err) }, 'could not delete the deferred reply; editing it instead');
    await interaction.editReply({ content, allowedMentions: { parse: [] } });
    return;
  }
  await interaction.followUp({ content, flags: MessageFlags.Ephemeral, allowedMentions: { parse: [] } });
}
