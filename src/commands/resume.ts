/**
 * `/resume` — undo a user's pause. It does not override the empty-room pause: with nobody in the channel the
 * narration goes on when someone comes back (and the reply says so).
 */
import type { ChatInputCommandInteraction } from 'discord.js';
import { mayControl } from '../services/playback/voiceAccess.js';
import { langOf, texts } from '../messages.js';
import { guildCommand, replyEphemeral } from './common.js';
import type { Command, CommandContext } from './types.js';

export const resume: Command = {
  data: guildCommand('resume', 'cmdResumeDescription'),

  async execute(interaction: ChatInputCommandInteraction, ctx: CommandContext): Promise<void> {
    const t = texts(langOf(interaction.locale));
    const ephemeral = (content: string) => replyEphemeral(interaction, content);
    if (!interaction.inCachedGuild()) return ephemeral(t.guildOnly());
    const session = ctx.playback.get(interaction.guildId);
    if (!session?.current || session.hasEnded) return ephemeral(t.nothingPlaying());
    if (!mayControl(interaction.member, session)) return ephemeral(t.notInBotChannel());
    if (session.resume() === 'not_paused') return ephemeral(t.notPaused());
    const who = `<@${interaction.user.id}>`;
    await interaction.reply({
      content: t.resumedReply({ who, waitingForListeners: session.isPausedForEmpty }),
      allowedMentions: { parse: [] },
    });
  },
};
