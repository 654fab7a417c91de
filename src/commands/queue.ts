/** `/queue` — what is playing and what is waiting in this server: who asked, the first words, how far along. */
import type { ChatInputCommandInteraction } from 'discord.js';
import type { GuildSession } from '../services/playback/guildSession.js';
import { inlineCodeSafe, langOf, MESSAGE_LIMIT, progressBar, texts, truncate, type Lang } from '../messages.js';
import { guildCommand, replyEphemeral } from './common.js';
import type { Command, CommandContext } from './types.js';

/** Words of each narration shown in the list. */
const PREVIEW_CHARS = 60;

export const queue: Command = {
  data: guildCommand('queue', 'cmdQueueDescription'),

  async execute(interaction: ChatInputCommandInteraction, ctx: CommandContext): Promise<void> {
    const lang = langOf(interaction.locale);
    const session = interaction.guildId ? ctx.playback.get(interaction.guildId) : undefined;
    const content = session?.busy ? renderQueue(lang, session, ctx.config.discord.maxQueuePerGuild) : texts(lang).queueEmpty();
    // Ephemeral: a list for the one who asked, not noise for the channel. Mentions render but never ping.
    await replyEphemeral(interaction, content);
  },
};

export function renderQueue(lang: Lang, session: GuildSession, maxQueue: number): string {
  const t = texts(lang);
  const rows: string[] = [];
  const current = session.current?.snapshot();
  if (current) {
    const words = preview(current.text);
    const bar = progressBar(current.chunksReady, current.chunksTotal);
    rows.push(
      current.phase === 'playing'
        ? t.queueRowPlaying({ who: current.requesterId, words, bar })
        : t.queueRowPreparing({ who: current.requesterId, words, bar }),
    );
  }
  session.waiting.forEach((track, i) => {
    const s = track.snapshot();
    rows.push(t.queueRowWaiting({ n: i + 1, who: s.requesterId, words: preview(s.text), ready: s.synthesisStarted }));
  });
  const count = rows.length;
  let out = t.queueTitle({ count, max: maxQueue });
  for (const row of rows) {
    if (out.length + row.length + 3 > MESSAGE_LIMIT) {
      out += '\n…';
      break;
    }
    out += `\n${row}`;
  }
  return out;
}

function preview(text: string): string {
  return inlineCodeSafe(truncate(text.replace(/\s+/g, ' ').trim(), PREVIEW_CHARS));
}
