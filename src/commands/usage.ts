/**
 * `/usage server` (Manage Server) and `/usage me` (anyone) — what narrations cost (issue 10): today (UTC) and the
 * last 30 days, narrations, characters asked and synthesized, GPU seconds and the estimated cost at
 * `GPU_PRICE_PER_SECOND`; for the server also the top members, as mentions that never ping.
 *
 * Two subcommands rather than a bare `/usage` plus `/usage me`: Discord cannot mix a command's own invocation with
 * subcommands. And no `default_member_permissions` on the command, because `/usage me` is for everyone: the server
 * view checks Manage Server at run time. Figures come from the Storage's ledger; numbers follow the caller's locale.
 */
import type { ChatInputCommandInteraction } from 'discord.js';
import type { UsageReport, UsageRow } from '../services/storage/types.js';
import { langOf, MESSAGE_LIMIT, texts, truncate, type Texts } from '../messages.js';
import { answerFromStorage, guildCommand, hasManageServer, localized, numberFormat, replyEphemeral } from './common.js';
import type { Command, CommandContext } from './types.js';

export const usage: Command = {
  data: guildCommand('usage', 'cmdUsageDescription')
    .addSubcommand((s) => localized(s, 'server', 'subUsageServerDescription'))
    .addSubcommand((s) => localized(s, 'me', 'subUsageMeDescription')),

  async execute(interaction: ChatInputCommandInteraction, ctx: CommandContext): Promise<void> {
    const locale = interaction.locale;
    const t = texts(langOf(locale));
    if (!interaction.guildId) return replyEphemeral(interaction, t.guildOnly());
    const sub = interaction.options.getSubcommand(true);
    if (sub === 'server' && !hasManageServer(interaction)) return replyEphemeral(interaction, t.needManageServer());
    const price = ctx.config.gpuPricePerSecond;
    await answerFromStorage(interaction, ctx, async (storage, guildId) => {
      const now = Date.now();
      if (sub === 'me') {
        return { content: renderUsage(t, locale, await storage.memberUsage(guildId, interaction.user.id, now), price, 'me') };
      }
      return { content: renderUsage(t, locale, await storage.usage(guildId, now), price, 'server') };
    });
  },
};

/** The report as a message: two summary rows, the top members (server view), the price it was estimated at. */
export function renderUsage(t: Texts, locale: string, report: UsageReport, price: number, view: 'server' | 'me'): string {
  const count = numberFormat(locale);
  const gpu = numberFormat(locale, { maximumFractionDigits: 1 });
  const money = (usd: number) =>
    numberFormat(locale, { style: 'currency', currency: 'USD', minimumFractionDigits: 2, maximumFractionDigits: usd < 1 ? 4 : 2 })(usd);
  const title = view === 'server' ? t.usageTitleServer() : t.usageTitleMe();
  if (report.last30Days.narrations === 0 && report.today.narrations === 0) return `${title}\n${t.usageNothing()}`;
  const row = (label: string, r: UsageRow) =>
    t.usageRow({
      label,
      narrations: r.narrations,
      n: count(r.narrations),
      chars: count(r.charsAsked),
      synthesized: count(r.charsSynthesized),
      gpu: gpu(r.gpuSeconds),
      cost: money(r.gpuSeconds * price),
    });
  const lines = [title, row(t.usageToday, report.today), row(t.usageLast30, report.last30Days)];
  if (view === 'server' && report.topMembers.length > 0) {
    lines.push(t.usageTopTitle());
    report.topMembers.slice(0, 10).forEach((m, i) =>
      lines.push(
        t.usageTopRow({
          rank: i + 1,
          userId: m.userId,
          narrations: m.narrations,
          n: count(m.narrations),
          chars: count(m.charsAsked),
          gpu: gpu(m.gpuSeconds),
          cost: money(m.gpuSeconds * price),
        }),
      ),
    );
  }
  lines.push(t.usagePrice({ price: numberFormat(locale, { style: 'currency', currency: 'USD', maximumSignificantDigits: 4 })(price) }));
  return truncate(lines.join('\n'), MESSAGE_LIMIT);
}
