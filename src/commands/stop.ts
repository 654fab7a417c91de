/** `/stop` — cancel the current narration (its GPU jobs too) and everything queued; the bot stays in the channel. */
import type { ChatInputCommandInteraction } from 'discord.js';
import { mayControl } from '../services/playback/voiceAccess.js';
import { langOf, texts } from '../messages.js';
import { guildCommand, replyEphemeral } from './common.js';
import type { Command, CommandContext } from './index.js';

export const stop: Command = {
  data: guildCommand('stop', 'cmdStopDescription'),

  async execute(interaction: ChatInputCommandInteraction, ctx: CommandContext): Promise<void> {
    const t = texts(langOf(interaction.locale));
    const ephemeral = (content: string) => replyEphemeral(interaction, content);
    if (!interaction.inCachedGuild()) return ephemeral(t.guildOnly());
    const session = ctx.playback.get(interaction.guildId);
    if (!session?.busy) return ephemeral(t.nothingPlaying());
    if (!mayControl(interaction.member, session)) return ephemeral(t.notInBotChannel());
    // Each cancelled narration's own reply says who stopped it; this reply tells the channel.
    const count = session.stop('stopped', `<@${interaction.user.id}>`);
    await interaction.reply({ content: t.stopped({ count }), allowedMentions: { parse: [] } });
  },
};
