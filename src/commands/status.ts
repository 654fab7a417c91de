/**
 * `/status` — anyone, ephemeral: the speech backend's health (RunPod workers and jobs, Flask reachability, or the
 * offline voice), the cache, and this bot's own state (narrations playing and queued across servers, scheduler
 * slots, uptime). The figures are gathered by the bot (CommandContext.statusReport); this only defers (the health
 * request may take a moment), renders and replies. Registered like the others (servers only).
 */
import { MessageFlags, type ChatInputCommandInteraction } from 'discord.js';
import { langOf, texts } from '../messages.js';
import { renderStatusReport } from '../services/status.js';
import { guildCommand } from './common.js';
import type { Command, CommandContext } from './types.js';

export const status: Command = {
  data: guildCommand('status', 'cmdStatusDescription'),

  async execute(interaction: ChatInputCommandInteraction, ctx: CommandContext): Promise<void> {
    const lang = langOf(interaction.locale);
    if (!ctx.statusReport) {
      await interaction.reply({ content: texts(lang).errUnexpected(), flags: MessageFlags.Ephemeral });
      return;
    }
    await interaction.deferReply({ flags: MessageFlags.Ephemeral });
    const report = await ctx.statusReport();
    await interaction.editReply({ content: renderStatusReport(lang, report), allowedMentions: { parse: [] } });
  },
};
