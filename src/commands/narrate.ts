/**
 * `/narrate text voice speed` — read a text aloud in the caller's voice channel and post the audio.
 *
 * Everything that can be refused is refused before the reply is deferred, with an ephemeral message: not in a
 * voice channel, the bot may not connect/speak there, the bot is busy in another channel, a bad voice/speed/text
 * (orchestrator.plan throws those synchronously), a full queue. These checks are synchronous and read Discord's
 * cache, so they answer well within the 3 s Discord allows. Only then is the reply deferred (publicly: others
 * in the channel see what is being read) and the narration queued; its reply follows it from there
 * (services/playback/narrationReply.ts).
 */
import { MessageFlags, type AutocompleteInteraction, type ChatInputCommandInteraction } from 'discord.js';
import { SPEED_MAX, SPEED_MIN } from '../services/config.js';
import { isNarratorError } from '../services/errors.js';
import type { NarrationPlan } from '../services/orchestrator.js';
import { NarrationTrack } from '../services/playback/narrationTrack.js';
import { followTrack, interactionReplyTarget } from '../services/playback/narrationReply.js';
import { checkVoiceAccess } from '../services/playback/voiceAccess.js';
import { described, errorText, langOf, texts, VI_NAMES, type ErrorContext } from '../messages.js';
import { guildCommand } from './common.js';
import type { Command, CommandContext } from './index.js';

/** Discord's longest string option; the engine is told the same limit. */
export const MAX_TEXT_CHARS = 6000;
/** Discord shows at most 25 autocomplete choices. */
const MAX_CHOICES = 25;
/** The default upload limit for bots when the interaction does not say (10 MiB since 2025-01). */
const DEFAULT_ATTACHMENT_LIMIT = 10 * 1024 * 1024;

const text = described('optTextDescription');
const voice = described('optVoiceDescription');
const speed = described('optSpeedDescription');

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
    ),

  async execute(interaction: ChatInputCommandInteraction, ctx: CommandContext): Promise<void> {
    const receivedAt = Date.now();
    const lang = langOf(interaction.locale);
    const t = texts(lang);
    const refuse = (content: string) =>
      interaction.reply({ content, flags: MessageFlags.Ephemeral, allowedMentions: { parse: [] } }).then(() => undefined);
    if (!interaction.inCachedGuild()) return refuse(t.guildOnly());

    const access = checkVoiceAccess(interaction.member, interaction.guild.members.me);
    if (!access.ok) {
      switch (access.problem) {
        case 'not_in_voice':
          return refuse(t.notInVoice());
        case 'stage_channel':
          return refuse(t.stageNotSupported());
        case 'channel_full':
          return refuse(t.channelFull({ channelId: access.channelId }));
        case 'missing_permissions':
          return refuse(t.missingVoicePermissions({ channelId: access.channelId, missing: t.permissionWords(access.missing) }));
      }
    }
    const channel = access.channel;
    const existing = ctx.playback.get(interaction.guildId);
    if (existing && !existing.hasEnded && existing.busy && existing.channelId && existing.channelId !== channel.id) {
      return refuse(t.busyElsewhere({ channelId: existing.channelId }));
    }

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
    const request = {
      text: interaction.options.getString('text', true),
      voice: interaction.options.getString('voice') ?? undefined,
      speed: interaction.options.getNumber('speed') ?? undefined,
      maxTextChars: MAX_TEXT_CHARS,
      resolveMention,
    };
    let plan: NarrationPlan;
    try {
      plan = ctx.orchestrator.plan(request);
    } catch (err) {
      if (isNarratorError(err, 'user')) return refuse(errorText(lang, err, errorContext));
      throw err;
    }
    if (existing && !existing.hasEnded && existing.isQueueFull) {
      return refuse(t.queueFull({ max: ctx.config.discord.maxQueuePerGuild }));
    }

    await interaction.deferReply();
    const track = new NarrationTrack(
      {
        text: request.text,
        voice: plan.voice,
        speed: plan.speed,
        chunksTotal: plan.chunks.length,
        requesterId: interaction.user.id,
        requesterName: interaction.member.displayName,
        maxTextChars: MAX_TEXT_CHARS,
        resolveMention,
      },
      ctx.orchestrator,
      ctx.logger,
    );
    let session;
    try {
      session = ctx.playback.join({ guildId: guild.id, channelId: channel.id, adapterCreator: guild.voiceAdapterCreator });
      session.enqueue(track);
    } catch (err) {
      ctx.logger.warn({ guild: guild.id, err: String(err) }, 'could not queue a narration');
      await interaction.editReply({ content: errorText(lang, err, errorContext), allowedMentions: { parse: [] } });
      return;
    }
    ctx.logger.info(
      { guild: guild.id, track: track.id, chunks: plan.chunks.length, chars: request.text.length, voice: plan.voice },
      'narration queued',
    );
    const joined = session;
    ctx.background(
      followTrack(track, interactionReplyTarget(interaction, receivedAt), {
        lang,
        attachmentSizeLimit: interaction.attachmentSizeLimit || DEFAULT_ATTACHMENT_LIMIT,
        voiceChannelId: () => joined.channelId,
        errorContext,
        logger: ctx.logger,
      }),
    );
  },

  async autocomplete(interaction: AutocompleteInteraction, ctx: CommandContext): Promise<void> {
    const focused = interaction.options.getFocused(true);
    if (focused.name !== 'voice') {
      await interaction.respond([]);
      return;
    }
    await interaction.respond(voiceChoices(ctx.config.voices, ctx.config.defaultVoice, String(focused.value)));
  },
};

/**
 * The voices matching what the user typed: prefix matches first, then the ones containing it, at most 25.
 * Answered from the configuration alone (no network), so it always comes well within Discord's 3 s.
 */
export function voiceChoices(voices: readonly string[], defaultVoice: string, typed: string): { name: string; value: string }[] {
  const q = typed.trim().toLowerCase();
  const prefix = voices.filter((v) => v.toLowerCase().startsWith(q));
  const inner = voices.filter((v) => !v.toLowerCase().startsWith(q) && v.toLowerCase().includes(q));
  return [...prefix, ...inner]
    .slice(0, MAX_CHOICES)
    .map((v) => ({ name: v === defaultVoice ? `${v} ★` : v, value: v }));
}
