/**
 * `/pause` — pause the current narration's playback for everyone in the channel. Synthesis goes on (the rest is
 * ready when it resumes); a paused narration does not count as idle, but after VOICE_PAUSE_LEAVE_SEC the bot leaves.
 */
import type { ChatInputCommandInteraction } from 'discord.js';
import { mayControl } from '../services/playback/voiceAccess.js';
import { langOf, texts } from '../messages.js';
import { guildCommand, replyEphemeral } from './common.js';
import type { Command, CommandContext } from './types.js';

export const pause: Command = {
  data: guildCommand('pause', 'cmdPauseDescription'),

  async execute(interaction: ChatInputCommandInteraction, ctx: CommandContext): Promise<void> {
    const t = texts(langOf(interaction.locale));
    const ephemeral = (content: string) => replyEphemeral(interaction, content);
    if (!interaction.inCachedGuild()) return ephemeral(t.guildOnly());
    const session = ctx.playback.get(interaction.guildId);
    if (!session?.current || session.hasEnded) return ephemeral(t.nothingPlaying());
    if (!mayControl(interaction.member, session)) return ephemeral(t.notInBotChannel());
    const who = `<@${interaction.user.id}>`;
    const result = session.pause(who);
    if (result === 'nothing_playing') return ephemeral(t.nothingPlaying());
    if (result === 'already_paused') return ephemeral(t.alreadyPaused());
    await interaction.reply({ content: t.pausedReply({ who }), allowedMentions: { parse: [] } });
  },
};
