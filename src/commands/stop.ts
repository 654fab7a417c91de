/** `/stop` — cancel the current narration (its GPU jobs too) and everything queued; the bot stays in the channel. */
import { InteractionContextType, MessageFlags, SlashCommandBuilder, type ChatInputCommandInteraction } from 'discord.js';
import { mayControl } from '../services/playback/voiceAccess.js';
import { described, langOf, texts, VI_NAMES } from '../messages.js';
import type { Command, CommandContext } from './index.js';

const info = described('cmdStopDescription');

export const stop: Command = {
  data: new SlashCommandBuilder()
    .setName('stop')
    .setNameLocalizations({ vi: VI_NAMES.stop })
    .setDescription(info.description)
    .setDescriptionLocalizations(info.localizations)
    .setContexts(InteractionContextType.Guild),

  async execute(interaction: ChatInputCommandInteraction, ctx: CommandContext): Promise<void> {
    const t = texts(langOf(interaction.locale));
    const ephemeral = (content: string) =>
      interaction.reply({ content, flags: MessageFlags.Ephemeral, allowedMentions: { parse: [] } }).then(() => undefined);
    if (!interaction.inCachedGuild()) return ephemeral(t.guildOnly());
    const session = ctx.playback.get(interaction.guildId);
    if (!session?.busy) return ephemeral(t.nothingPlaying());
    if (!mayControl(interaction.member, session)) return ephemeral(t.notInBotChannel());
    // Each cancelled narration's own reply says who stopped it; this reply tells the channel.
    const count = session.stop('stopped', `<@${interaction.user.id}>`);
    await interaction.reply({ content: t.stopped({ count }), allowedMentions: { parse: [] } });
  },
};
