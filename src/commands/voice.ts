/**
 * `/voice set voice [speed]`, `/voice show`, `/voice reset` — a member's own default voice and speed in this server
 * (issue 10), used when /narrate names none: member preference → server default → the bot's configuration.
 * (Not to be confused with `/voices`, which lists the voices: voices.ts.)
 *
 * Anyone may use it, for themselves only. It reads and writes the Storage and nothing else; /narrate applies the
 * preferences. Answers are ephemeral.
 */
import type { ChatInputCommandInteraction } from 'discord.js';
import { SPEED_MAX, SPEED_MIN } from '../services/config.js';
import { NarratorError } from '../services/errors.js';
import { langOf, texts } from '../messages.js';
import { answerFromStorage, autocompleteVoice, guildCommand, localized, numberFormat, replyEphemeral } from './common.js';
import type { Command, CommandContext } from './types.js';

export const voice: Command = {
  data: guildCommand('voice', 'cmdVoiceDescription')
    .addSubcommand((s) =>
      localized(s, 'set', 'subVoiceSetDescription')
        .addStringOption((o) => localized(o, 'voice', 'optMyVoiceDescription').setRequired(true).setAutocomplete(true))
        .addNumberOption((o) => localized(o, 'speed', 'optSpeedDescription').setMinValue(SPEED_MIN).setMaxValue(SPEED_MAX)),
    )
    .addSubcommand((s) => localized(s, 'show', 'subVoiceShowDescription'))
    .addSubcommand((s) => localized(s, 'reset', 'subVoiceResetDescription')),

  async execute(interaction: ChatInputCommandInteraction, ctx: CommandContext): Promise<void> {
    const locale = interaction.locale;
    const t = texts(langOf(locale));
    if (!interaction.guildId) return replyEphemeral(interaction, t.guildOnly());
    const sub = interaction.options.getSubcommand(true);
    const userId = interaction.user.id;
    const { config } = ctx;
    const speedText = numberFormat(locale, { maximumFractionDigits: 2 });

    await answerFromStorage(interaction, ctx, async (storage, guildId) => {
      switch (sub) {
        case 'set': {
          const chosen = interaction.options.getString('voice', true);
          if (!config.voices.includes(chosen)) throw new NarratorError('user', 'voice_unknown', `Unknown voice "${chosen}".`);
          const speed = interaction.options.getNumber('speed');
          if (speed !== null && (!Number.isFinite(speed) || speed < SPEED_MIN || speed > SPEED_MAX)) {
            throw new NarratorError('user', 'speed_out_of_range', `Speed must be between ${SPEED_MIN} and ${SPEED_MAX}.`);
          }
          // No speed given: a speed chosen earlier stays (changing the voice should not reset it).
          const keptSpeed = speed ?? (await storage.getMember(guildId, userId))?.speed;
          await storage.setMember(guildId, userId, { voice: chosen, ...(keptSpeed !== undefined ? { speed: keptSpeed } : {}) });
          return { content: t.voicePrefsSaved({ voice: chosen, ...(keptSpeed !== undefined ? { speed: speedText(keptSpeed) } : {}) }) };
        }

        case 'show': {
          const [mine, server] = await Promise.all([storage.getMember(guildId, userId), storage.getSettings(guildId)]);
          const source = (own: unknown, guild: unknown) => (own !== undefined ? t.sourceMine : guild !== undefined ? t.sourceServer : t.sourceBot);
          const rows = [
            t.voicePrefsRow({
              label: t.labelVoice,
              value: mine?.voice ?? server.voice ?? config.defaultVoice,
              source: source(mine?.voice, server.voice),
            }),
            t.voicePrefsRow({
              label: t.labelSpeed,
              value: speedText(mine?.speed ?? server.speed ?? config.defaultSpeed),
              source: source(mine?.speed, server.speed),
            }),
          ];
          return { content: [t.voicePrefsTitle(), ...rows].join('\n') };
        }

        case 'reset':
          await storage.resetMember(guildId, userId);
          return { content: t.voicePrefsReset() };

        default:
          throw new Error(`Unknown /voice subcommand ${sub}`);
      }
    });
  },

  autocomplete: autocompleteVoice,
};
