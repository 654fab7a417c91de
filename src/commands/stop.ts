/**
 * `/stop` — cancel the current narration (its GPU jobs too) and everything queued; the bot stays in the channel.
 * From outside the bot's channel (without Move Members) it stops only the caller's own narrations.
 */
import type { ChatInputCommandInteraction } from 'discord.js';
import { mayControl } from '../services/playback/voiceAccess.js';
import { langOf, texts } from '../messages.js';
import { guildCommand, replyEphemeral } from './common.js';
import type { Command, CommandContext } from './types.js';

export const stop: Command = {
  data: guildCommand('stop', 'cmdStopDescription'),

  async execute(interaction: ChatInputCommandInteraction, ctx: CommandContext): Promise<void> {
    const t = texts(langOf(interaction.locale));
    const ephemeral = (content: string) => replyEphemeral(interaction, content);
    if (!interaction.inCachedGuild()) return ephemeral(t.guildOnly());
    const session = ctx.playback.get(interaction.guildId);
    if (!session?.busy) return ephemeral(t.nothingPlaying());
    // Each cancelled narration's own reply says who stopped it; this reply tells the channel.
    const by = `<@${interaction.user.id}>`;
    // The requester may always stop their own narrations, in the channel or not (e.g. after leaving it).
    const count = mayControl(interaction.member, session) ? session.stop('stopped', by) : session.stopRequester(interaction.user.id, by);
    if (count === 0) return ephemeral(t.notInBotChannel());
    await interaction.reply({ content: t.stopped({ count }), allowedMentions: { parse: [] } });
  },
};
