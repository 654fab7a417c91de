/** `/skip` — cancel the current narration (synthesis and playback) and go on with the next one in the queue. */
import { InteractionContextType, MessageFlags, SlashCommandBuilder, type ChatInputCommandInteraction } from 'discord.js';
import { mayControl } from '../services/playback/voiceAccess.js';
import { described, langOf, texts, VI_NAMES } from '../messages.js';
import type { Command, CommandContext } from './index.js';

const info = described('cmdSkipDescription');

export const skip: Command = {
  data: new SlashCommandBuilder()
    .setName('skip')
    .setNameLocalizations({ vi: VI_NAMES.skip })
    .setDescription(info.description)
    .setDescriptionLocalizations(info.localizations)
    .setContexts(InteractionContextType.Guild),

  async execute(interaction: ChatInputCommandInteraction, ctx: CommandContext): Promise<void> {
    const t = texts(langOf(interaction.locale));
    const ephemeral = (content: string) =>
      interaction.reply({ content, flags: MessageFlags.Ephemeral, allowedMentions: { parse: [] } }).then(() => undefined);
    if (!interaction.inCachedGuild()) return ephemeral(t.guildOnly());
    const session = ctx.playback.get(interaction.guildId);
    if (!session?.current) return ephemeral(t.nothingPlaying());
    if (!mayControl(interaction.member, session)) return ephemeral(t.notInBotChannel());
    const skipped = session.skip(`<@${interaction.user.id}>`);
    if (!skipped) return ephemeral(t.nothingPlaying());
    await interaction.reply({ content: t.skipped({ who: `<@${skipped.request.requesterId}>` }), allowedMentions: { parse: [] } });
  },
};
