/** `/skip` — cancel the current narration (synthesis and playback) and go on with the next one in the queue. */
import type { ChatInputCommandInteraction } from 'discord.js';
import { mayControl } from '../services/playback/voiceAccess.js';
import { langOf, texts } from '../messages.js';
import { guildCommand, replyEphemeral } from './common.js';
import type { Command, CommandContext } from './types.js';

export const skip: Command = {
  data: guildCommand('skip', 'cmdSkipDescription'),

  async execute(interaction: ChatInputCommandInteraction, ctx: CommandContext): Promise<void> {
    const t = texts(langOf(interaction.locale));
    const ephemeral = (content: string) => replyEphemeral(interaction, content);
    if (!interaction.inCachedGuild()) return ephemeral(t.guildOnly());
    const session = ctx.playback.get(interaction.guildId);
    if (!session?.current) return ephemeral(t.nothingPlaying());
    if (!mayControl(interaction.member, session)) return ephemeral(t.notInBotChannel());
    const skipped = session.skip(`<@${interaction.user.id}>`);
    if (!skipped) return ephemeral(t.nothingPlaying());
    await interaction.reply({ content: t.skipped({ who: `<@${skipped.request.requesterId}>` }), allowedMentions: { parse: [] } });
  },
};
