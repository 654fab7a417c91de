/**
 * What every command module shares: the localized builder skeleton, the ephemeral refusal, and — for the commands
 * that read or write the settings database (/settings /voice /usage /dictionary) — the Manage Server check and one
 * way to run a storage call and answer it, so a database that went away gives the same clear message everywhere.
 */
import {
  InteractionContextType,
  MessageFlags,
  PermissionFlagsBits,
  SlashCommandBuilder,
  type AttachmentPayload,
  type AutocompleteInteraction,
  type ChatInputCommandInteraction,
  type CommandInteraction,
  type SharedNameAndDescription,
} from 'discord.js';
import { SPEED_MAX, SPEED_MIN } from '../services/config.js';
import { isNarratorError } from '../services/errors.js';
import type { Storage } from '../services/storage/types.js';
import { described, errorText, langOf, texts, VI_NAMES, type DescriptionKey, type ErrorContext } from '../messages.js';
import type { CommandContext } from './types.js';

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

/** Names and describes a subcommand or an option in English and Vietnamese (the same table as the commands). */
export function localized<T extends SharedNameAndDescription>(builder: T, name: keyof typeof VI_NAMES, description: DescriptionKey): T {
  const info = described(description);
  return builder
    .setName(name)
    .setNameLocalizations({ vi: VI_NAMES[name] })
    .setDescription(info.description)
    .setDescriptionLocalizations(info.localizations);
}

/** A reply only the caller sees; mentions in it render but never ping. */
export async function replyEphemeral(interaction: CommandInteraction, content: string): Promise<void> {
  await interaction.reply({ content, flags: MessageFlags.Ephemeral, allowedMentions: { parse: [] } });
}

/**
 * Whether the caller has Manage Server here. `default_member_permissions` only hides a command by default: a server
 * can grant it to anyone in its integration settings, so every command that changes server state checks again.
 * `memberPermissions` comes with the interaction (Discord computed it), so no member fetch is needed.
 */
export function hasManageServer(interaction: Pick<ChatInputCommandInteraction, 'memberPermissions'>): boolean {
  return interaction.memberPermissions?.has(PermissionFlagsBits.ManageGuild) ?? false;
}

/** What a storage-backed handler answers with. */
export interface StorageReply {
  readonly content: string;
  readonly files?: readonly AttachmentPayload[];
}

/**
 * Runs `work` against the storage and answers ephemerally. The reply is deferred first: with Postgres a storage call
 * is a network round trip and must not eat Discord's 3 s. No storage configured → "settings are not available";
 * the database gone (`storage_unavailable`) or a refused request (a `user` error, e.g. `dictionary_full`) → its clear
 * text. Anything else is rethrown: bot.ts logs it and tells the user something went wrong.
 */
export async function answerFromStorage(
  interaction: ChatInputCommandInteraction,
  ctx: CommandContext,
  work: (storage: Storage, guildId: string) => Promise<StorageReply>,
): Promise<void> {
  const lang = langOf(interaction.locale);
  const t = texts(lang);
  const guildId = interaction.guildId;
  if (!guildId) return replyEphemeral(interaction, t.guildOnly());
  const storage = ctx.storage;
  if (!storage) return replyEphemeral(interaction, t.storageMissing());
  await interaction.deferReply({ flags: MessageFlags.Ephemeral });
  let reply: StorageReply;
  try {
    reply = await work(storage, guildId);
  } catch (err) {
    if (!isNarratorError(err) || (err.kind !== 'user' && err.code !== 'storage_unavailable')) throw err;
    if (err.code === 'storage_unavailable') ctx.logger.warn({ guild: guildId, command: interaction.commandName, err: err.message }, 'storage unavailable');
    reply = { content: errorText(lang, err, commandErrorContext(ctx)) };
  }
  await interaction.editReply({ content: reply.content, ...(reply.files ? { files: [...reply.files] } : {}), allowedMentions: { parse: [] } });
}

/** What the error texts of these commands need to name the allowed values. */
export function commandErrorContext(ctx: CommandContext): ErrorContext {
  return { voices: ctx.config.voices, speedMin: SPEED_MIN, speedMax: SPEED_MAX, maxQueue: ctx.config.discord.maxQueuePerGuild };
}

/** Numbers as the caller's locale writes them (1,234.5 / 1.234,5); an unknown locale falls back to English. */
export function numberFormat(locale: string | null | undefined, options: Intl.NumberFormatOptions = {}): (n: number) => string {
  let format: Intl.NumberFormat;
  try {
    format = new Intl.NumberFormat(locale ?? 'en-US', options);
  } catch {
    format = new Intl.NumberFormat('en-US', options);
  }
  return (n) => format.format(n);
}

/** Discord shows at most 25 autocomplete choices. */
const MAX_CHOICES = 25;
/** The default upload limit for bots when the interaction does not say (10 MiB since 2025-01). */
export const DEFAULT_ATTACHMENT_LIMIT = 10 * 1024 * 1024;

/**
 * The voices matching what the user typed: prefix matches first, then the ones containing it, at most 25.
 * Answered from the configuration alone (no network), so it always comes well within Discord's 3 s.
 */
export function voiceChoices(voices: readonly string[], defaultVoice: string, typed: string): { name: string; value: string }[] {
  const q = typed.trim().toLowerCase();
  const prefix = voices.filter((v) => v.toLowerCase().startsWith(q));
  const inner = voices.filter((v) => !v.toLowerCase().startsWith(q) && v.toLowerCase().includes(q));
  return [...prefix, ...inner]
    .slice(0, MAX_CHOICES)
    .map((v) => ({ name: v === defaultVoice ? `${v} ★` : v, value: v }));
}

/** Autocomplete for a command whose only autocompleted option is `voice`. */
export async function autocompleteVoice(interaction: AutocompleteInteraction, ctx: CommandContext): Promise<void> {
  const focused = interaction.options.getFocused(true);
  if (focused.name !== 'voice') {
    await interaction.respond([]);
    return;
  }
  await interaction.respond(voiceChoices(ctx.config.voices, ctx.config.defaultVoice, String(focused.value)));
}
