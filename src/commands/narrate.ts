/**
 * `/narrate text voice speed` — read a text aloud in the caller's voice channel and post the audio.
 *
 * Everything that can be refused is refused before the reply is deferred, with an ephemeral message: the bot is
 * restarting, not in a voice channel (or in the server's AFK channel, where nobody can hear), the bot may not
 * connect/speak there, the bot is busy in another channel, a bad voice/speed/text (orchestrator.plan throws those
 * synchronously), a full queue. These checks are synchronous and read Discord's cache, so they answer well within
 * the 3 s Discord allows. Only then is the reply deferred (publicly: others in the channel see what is being read).
 *
 * The defer is an await, and while it runs another /narrate of the same server, a /leave or a shutdown may have
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
 * Server settings and spending limits (issue 10), all before queueing — so a refused narration never costs a GPU
 * second: the voice and speed come from the option, else the member's preference, else the server's default, else
 * the config's; a member without the server's narrator role is refused (naming the role); the plan uses the
 * server's dictionary and per-narration limit; then the characters still to synthesize (what the cache does not
 * hold: only those count against the daily limits) are reserved with `storage.reserve`, atomically against the
 * server's and the member's budgets and cooldown. A refusal says which limit, the numbers and when it resets. A
 * storage that does not answer refuses the narration (never narrate without limits). These checks are async
 * (a database): when they take longer than DEFER_AFTER_MS the reply is deferred meanwhile, and a refusal found
 * after that is made private the same way as a late one. From the reservation on, every path ends either in the
 * ledger binding (which settles the row when the narration ends) or in settling it at once.
 *
 * The checks themselves live in admission.ts; resumeQueue.ts continues the persisted queue after a restart.
 */
import { MessageFlags, type ChatInputCommandInteraction } from 'discord.js';
import { SPEED_MAX, SPEED_MIN } from '../services/config.js';
import { isNarratorError } from '../services/errors.js';
import { NarrationTrack } from '../services/playback/narrationTrack.js';
import { bindLedger } from '../services/playback/narrationLedger.js';
import { followTrack, INTERACTION_TOKEN_TTL_MS, interactionReplyTarget } from '../services/playback/narrationReply.js';
import { checkVoiceAccess } from '../services/playback/voiceAccess.js';
import { described, errorText, langOf, texts, VI_NAMES, type ErrorContext } from '../messages.js';
import { admit, MAX_TEXT_CHARS, settleUnused, type Admission } from './admission.js';
import { autocompleteVoice, DEFAULT_ATTACHMENT_LIMIT, guildCommand } from './common.js';
import { OUTPUTS, parseOutput, fileOutputTarget, voiceMessageTarget, withColdStartNotice, VOICE_MESSAGE_SOURCE_LIMIT } from './narrateOutput.js';
import type { Command, CommandContext } from './types.js';

/** The settings and limit checks are async: past this, the reply is deferred while they finish (Discord allows 3 s). */
const DEFER_AFTER_MS = 1_500;

const text = described('optTextDescription');
const voice = described('optVoiceDescription');
const speed = described('optSpeedDescription');
const output = described('optOutputDescription');
const OUTPUT_NAMES = { voice: 'outputChoiceVoice', file: 'outputChoiceFile', voice_message: 'outputChoiceVoiceMessage' } as const;

export const narrate: Command = {
  // Guild-only: voice channels exist only in servers.
  data: guildCommand('narrate', 'cmdNarrateDescription')
    .addStringOption((o) =>
      o
        .setName('text')
        .setNameLocalizations({ vi: VI_NAMES.text })
        .setDescription(text.description)
        .setDescriptionLocalizations(text.localizations)
        .setRequired(true)
        .setMaxLength(MAX_TEXT_CHARS),
    )
    .addStringOption((o) =>
      o
        .setName('voice')
        .setNameLocalizations({ vi: VI_NAMES.voice })
        .setDescription(voice.description)
        .setDescriptionLocalizations(voice.localizations)
        .setAutocomplete(true),
    )
    .addNumberOption((o) =>
      o
        .setName('speed')
        .setNameLocalizations({ vi: VI_NAMES.speed })
        .setDescription(speed.description)
        .setDescriptionLocalizations(speed.localizations)
        .setMinValue(SPEED_MIN)
        .setMaxValue(SPEED_MAX),
    )
    .addStringOption((o) =>
      o
        .setName('output')
        .setNameLocalizations({ vi: VI_NAMES.output })
        .setDescription(output.description)
        .setDescriptionLocalizations(output.localizations)
        .addChoices(
          OUTPUTS.map((value) => {
            const name = described(OUTPUT_NAMES[value]);
            return { name: name.description, name_localizations: name.localizations, value };
          }),
        ),
    ),

  async execute(interaction: ChatInputCommandInteraction, ctx: CommandContext): Promise<void> {
    const receivedAt = Date.now();
    const lang = langOf(interaction.locale);
    const t = texts(lang);
    const refuse = (content: string) =>
      interaction.reply({ content, flags: MessageFlags.Ephemeral, allowedMentions: { parse: [] } }).then(() => undefined);
    if (!interaction.inCachedGuild()) return refuse(t.guildOnly());
    if (ctx.shuttingDown?.()) return refuse(t.shuttingDown());

    const outputChoice = interaction.options.getString('output');
    const outputMode = parseOutput(outputChoice);
    const detached = outputMode === 'voice' ? undefined : ctx.detached;
    if (outputMode !== 'voice' && !detached) return refuse(t.errUnexpected());
    // A file or voice message needs no voice channel: the voice checks apply to `voice` only.
    const access = detached ? undefined : checkVoiceAccess(interaction.member, interaction.guild.members.me);
    if (access && !access.ok) {
      switch (access.problem) {
        case 'not_in_voice':
          return refuse(outputChoice === null ? t.notInVoiceTryOutputs() : t.notInVoice());
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
    const resolveMention = (kind: 'user' | 'role' | 'channel', id: string): string | undefined => {
      if (kind === 'user') return guild.members.cache.get(id)?.displayName ?? interaction.client.users.cache.get(id)?.displayName;
      if (kind === 'role') return guild.roles.cache.get(id)?.name;
      return guild.channels.cache.get(id)?.name;
    };
    const text = interaction.options.getString('text', true);
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
    // Settings, role, plan, reservation: async, so the reply is deferred meanwhile if they are slow.
    let deferring: Promise<unknown> | undefined;
    const deferTimer = setTimeout(() => {
      deferring = interaction.deferReply().then(
        () => undefined,
        (err: unknown) => err,
      );
    }, DEFER_AFTER_MS);
    let admission: Admission;
    try {
      admission = await admit(ctx, {
        guildId: guild.id,
        userId: interaction.user.id,
        memberRoles: (roleId) => interaction.member.roles.cache.has(roleId),
        text,
        voice: interaction.options.getString('voice') ?? undefined,
        speed: interaction.options.getNumber('speed') ?? undefined,
        resolveMention,
        lang,
        errorContext,
      });
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
    const maxTextChars = settings?.maxChars ?? MAX_TEXT_CHARS;
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
          persist: channel && {
            guildId: guild.id,
            voiceChannelId: channel.id,
            textChannelId: interaction.channelId,
            userId: interaction.user.id,
            text,
            voice: plan.voice,
            speed: plan.speed,
            locale: interaction.locale,
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
  },

  autocomplete: autocompleteVoice,
};

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
 * A refusal found after the public defer, made as private as an early one: the "thinking…" placeholder is deleted
 * (only the caller then sees the answer, as an ephemeral follow-up). If the delete fails, the placeholder is
 * edited instead — never left spinning.
 */
async function refusePrivatelyAfterDefer(interaction: ChatInputCommandInteraction, content: string, ctx: CommandContext): Promise<void> {
  try {
    await interaction.deleteReply();
  } catch (err) {
    ctx.logger.warn({ err: String(err) }, 'could not delete the deferred reply; editing it instead');
    await interaction.editReply({ content, allowedMentions: { parse: [] } });
    return;
  }
  await interaction.followUp({ content, flags: MessageFlags.Ephemeral, allowedMentions: { parse: [] } });
}
