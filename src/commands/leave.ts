/** `/leave` — like /stop, then leave the voice channel. */
import { getVoiceConnection } from '@discordjs/voice';
import type { ChatInputCommandInteraction } from 'discord.js';
import { mayControl } from '../services/playback/voiceAccess.js';
import { langOf, texts } from '../messages.js';
import { guildCommand, replyEphemeral } from './common.js';
import type { Command, CommandContext } from './types.js';

export const leave: Command = {
  data: guildCommand('leave', 'cmdLeaveDescription'),

  async execute(interaction: ChatInputCommandInteraction, ctx: CommandContext): Promise<void> {
    const t = texts(langOf(interaction.locale));
    const ephemeral = (content: string) => replyEphemeral(interaction, content);
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
