/**
 * `/voices` — the voices a user may choose (the configured allow-list, default marked). With the Flask backend the
 * worker itself is asked which reference voices it has, and allowed voices it lacks are marked, so an admin can
 * see at a glance why a voice fails; RunPod and the offline backend cannot be asked.
 */
import { MessageFlags, SlashCommandBuilder, type ChatInputCommandInteraction } from 'discord.js';
import { described, langOf, MESSAGE_LIMIT, texts, truncate, VI_NAMES } from '../messages.js';
import type { Command, CommandContext } from './types.js';

const info = described('cmdVoicesDescription');
/** The worker is asked with this deadline; the answer must fit in the interaction's life anyway. */
const WORKER_TIMEOUT_MS = 5_000;

export const voices: Command = {
  data: new SlashCommandBuilder()
    .setName('voices')
    .setNameLocalizations({ vi: VI_NAMES.voices })
    .setDescription(info.description)
    .setDescriptionLocalizations(info.localizations),

  async execute(interaction: ChatInputCommandInteraction, ctx: CommandContext): Promise<void> {
    const t = texts(langOf(interaction.locale));
    const { voices: allowed, defaultVoice } = ctx.config;
    let installed: Set<string> | undefined;
    let unreachable = false;
    if (ctx.backend.listVoices) {
      // A network call: defer first so a slow worker cannot make the interaction fail.
      await interaction.deferReply({ flags: MessageFlags.Ephemeral });
      try {
        installed = new Set(await ctx.backend.listVoices(AbortSignal.timeout(WORKER_TIMEOUT_MS)));
      } catch (err) {
        ctx.logger.warn({ err: String(err) }, 'could not list the worker voices');
        unreachable = true;
      }
    }
    const lines = allowed.map((v) => {
      const notes = [v === defaultVoice ? t.voiceDefault() : '', installed && !installed.has(v) ? t.voiceNotOnWorker() : '']
        .filter(Boolean)
        .join(', ');
      return `• \`${v}\`${notes ? ` — ${notes}` : ''}`;
    });
    const content = truncate(
      [t.voicesTitle({ count: allowed.length }), ...lines, ...(unreachable ? [t.voicesWorkerUnreachable()] : [])].join('\n'),
      MESSAGE_LIMIT,
    );
    if (interaction.deferred) await interaction.editReply({ content, allowedMentions: { parse: [] } });
    else await interaction.reply({ content, flags: MessageFlags.Ephemeral, allowedMentions: { parse: [] } });
  },
};
