/** What every command module shares: the localized builder skeleton and the ephemeral refusal. */
import { InteractionContextType, MessageFlags, SlashCommandBuilder, type ChatInputCommandInteraction } from 'discord.js';
import { described, VI_NAMES, type DescriptionKey } from '../messages.js';

/** A guild-only slash command named in English and Vietnamese, described in both. */
export function guildCommand(name: keyof typeof VI_NAMES, description: DescriptionKey): SlashCommandBuilder {
  const info = described(description);
  return new SlashCommandBuilder()
    .setName(name)
    .setNameLocalizations({ vi: VI_NAMES[name] })
    .setDescription(info.description)
    .setDescriptionLocalizations(info.localizations)
    .setContexts(InteractionContextType.Guild);
}

/** A reply only the caller sees; mentions in it render but never ping. */
export async function replyEphemeral(interaction: ChatInputCommandInteraction, content: string): Promise<void> {
  await interaction.reply({ content, flags: MessageFlags.Ephemeral, allowedMentions: { parse: [] } });
}
