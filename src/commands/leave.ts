/** `/leave` — like /stop, then leave the voice channel. */
import { getVoiceConnection } from '@discordjs/voice';
import { InteractionContextType, MessageFlags, SlashCommandBuilder, type ChatInputCommandInteraction } from 'discord.js';
import { mayControl } from '../services/playback/voiceAccess.js';
import { described, langOf, texts, VI_NAMES } from '../messages.js';
import type { Command, CommandContext } from './index.js';

const info = described('cmdLeaveDescription');

export const leave: Command = {
  data: new SlashCommandBuilder()
    .setName('leave')
    .setNameLocalizations({ vi: VI_NAMES.leave })
    .setDescription(info.description)
    .setDescriptionLocalizations(info.localizations)
    .setContexts(InteractionContextType.Guild),

  async execute(interaction: ChatInputCommandInteraction, ctx: CommandContext): Promise<void> {
    const t = texts(langOf(interaction.locale));
    const ephemeral = (content: string) =>
      interaction.reply({ content, flags: MessageFlags.Ephemeral, allowedMentions: { parse: [] } }).then(() => undefined);
    if (!interaction.inCachedGuild()) return ephemeral(t.guildOnly());
    const session = ctx.playback.get(interaction.guildId);
    if (!session) {
      // No session, but a connection may still exist (e.g. left over by a crash of a previous handler).
      const stray = getVoiceConnection(interaction.guildId);
      if (!stray) return ephemeral(t.notConnected());
      stray.destroy();
      await interaction.reply({ content: t.left(), allowedMentions: { parse: [] } });
      return;
    }
    if (!mayControl(interaction.member, session)) return ephemeral(t.notInBotChannel());
    session.end('left', `<@${interaction.user.id}>`);
    await interaction.reply({ content: t.left(), allowedMentions: { parse: [] } });
  },
};
