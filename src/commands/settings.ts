/**
 * `/settings` — a server's narration settings (issue 10), for members with Manage Server: `show`, the default
 * `voice` and `speed`, the `limits` (characters per narration, per day for the server and per member, the cooldown),
 * the `role` allowed to narrate, voice-tag `alias`es for multi-voice scripts, and `reset`.
 *
 * Manage Server is asked twice: `default_member_permissions` hides the command from other members, and the handler
 * checks `memberPermissions` again because a server may grant the command to anyone in its integration settings.
 * The command only reads and writes the Storage; enforcing the limits is /narrate's business (storage.reserve).
 * Every answer is ephemeral: settings are the admins' business, not the channel's.
 */
import { PermissionFlagsBits, type AutocompleteInteraction, type ChatInputCommandInteraction } from 'discord.js';
import { SPEED_MAX, SPEED_MIN, type Config } from '../services/config.js';
import { NarratorError } from '../services/errors.js';
import type { GuildSettings, GuildSettingsPatch } from '../services/storage/types.js';
import { ALIAS_MAX_CHARS, normalizeAlias } from '../services/text/index.js';
import { inlineCodeSafe, langOf, MESSAGE_LIMIT, texts, truncate, type Texts } from '../messages.js';
import { answerFromStorage, guildCommand, voiceChoices, hasManageServer, localized, numberFormat, replyEphemeral } from './common.js';
import { MAX_TEXT_CHARS } from './admission.js';
import type { Command, CommandContext } from './types.js';

/** Largest daily character budget the option accepts (far above any real budget; keeps the value an int32). */
export const DAILY_CHARS_MAX = 100_000_000;
/** Longest cooldown the option accepts: one day. */
export const COOLDOWN_MAX_SEC = 86_400;
export const MAX_ALIASES = 50;
// Alias names are the engine's business too (the CLI's --voices-map): the rule lives with the voice tags.
export { ALIAS_MAX_CHARS, normalizeAlias };

export const settings: Command = {
  data: guildCommand('settings', 'cmdSettingsDescription')
    .setDefaultMemberPermissions(PermissionFlagsBits.ManageGuild)
    .addSubcommand((s) => localized(s, 'show', 'subSettingsShowDescription'))
    .addSubcommand((s) =>
      localized(s, 'voice', 'subSettingsVoiceDescription').addStringOption((o) =>
        localized(o, 'voice', 'optSettingsVoiceDescription').setAutocomplete(true),
      ),
    )
    .addSubcommand((s) =>
      localized(s, 'speed', 'subSettingsSpeedDescription').addNumberOption((o) =>
        localized(o, 'speed', 'optSettingsSpeedDescription').setMinValue(SPEED_MIN).setMaxValue(SPEED_MAX),
      ),
    )
    .addSubcommand((s) =>
      localized(s, 'limits', 'subSettingsLimitsDescription')
        .addIntegerOption((o) => localized(o, 'max_chars', 'optMaxCharsDescription').setMinValue(0).setMaxValue(MAX_TEXT_CHARS))
        .addIntegerOption((o) => localized(o, 'daily_chars', 'optDailyCharsDescription').setMinValue(0).setMaxValue(DAILY_CHARS_MAX))
        .addIntegerOption((o) => localized(o, 'user_daily_chars', 'optUserDailyCharsDescription').setMinValue(0).setMaxValue(DAILY_CHARS_MAX))
        .addIntegerOption((o) => localized(o, 'cooldown', 'optCooldownDescription').setMinValue(0).setMaxValue(COOLDOWN_MAX_SEC)),
    )
    .addSubcommand((s) =>
      localized(s, 'role', 'subSettingsRoleDescription').addRoleOption((o) => localized(o, 'role', 'optRoleDescription')),
    )
    .addSubcommand((s) =>
      localized(s, 'alias', 'subSettingsAliasDescription')
        .addStringOption((o) =>
          localized(o, 'name', 'optAliasNameDescription').setRequired(true).setMaxLength(ALIAS_MAX_CHARS + 2).setAutocomplete(true),
        )
        .addStringOption((o) => localized(o, 'voice', 'optAliasVoiceDescription').setAutocomplete(true)),
    )
    .addSubcommand((s) => localized(s, 'reset', 'subSettingsResetDescription')),

  async execute(interaction: ChatInputCommandInteraction, ctx: CommandContext): Promise<void> {
    const locale = interaction.locale;
    const t = texts(langOf(locale));
    if (!interaction.guildId) return replyEphemeral(interaction, t.guildOnly());
    if (!hasManageServer(interaction)) return replyEphemeral(interaction, t.needManageServer());
    const sub = interaction.options.getSubcommand(true);
    const { config } = ctx;

    await answerFromStorage(interaction, ctx, async (storage, guildId) => {
      switch (sub) {
        case 'show':
          return { content: renderSettings(t, locale, await storage.getSettings(guildId), config) };

        case 'voice': {
          const voice = interaction.options.getString('voice');
          if (voice === null) {
            await storage.updateSettings(guildId, { clear: ['voice'] });
            return { content: t.settingsVoiceCleared({ voice: config.defaultVoice }) };
          }
          await storage.updateSettings(guildId, { voice: allowedVoice(voice, config) });
          return { content: t.settingsVoiceSet({ voice }) };
        }

        case 'speed': {
          const speed = interaction.options.getNumber('speed');
          const format = numberFormat(locale, { maximumFractionDigits: 2 });
          if (speed === null) {
            await storage.updateSettings(guildId, { clear: ['speed'] });
            return { content: t.settingsSpeedCleared({ speed: format(config.defaultSpeed) }) };
          }
          await storage.updateSettings(guildId, { speed: checkedSpeed(speed) });
          return { content: t.settingsSpeedSet({ speed: format(speed) }) };
        }

        case 'limits': {
          const patch = limitsPatch(interaction);
          if (patch === undefined) return { content: renderLimits(t, locale, await storage.getSettings(guildId)) };
          const saved = await storage.updateSettings(guildId, patch);
          return { content: `${t.settingsLimitsSaved()}\n${renderLimits(t, locale, saved)}` };
        }

        case 'role': {
          const role = interaction.options.getRole('role');
          // @everyone (its id is the server's) means what "no role" means.
          if (role === null || role.id === guildId) {
            await storage.updateSettings(guildId, { clear: ['roleId'] });
            return { content: t.settingsRoleCleared() };
          }
          await storage.updateSettings(guildId, { roleId: role.id });
          return { content: t.settingsRoleSet({ roleId: role.id }) };
        }

        case 'alias': {
          const alias = normalizeAlias(interaction.options.getString('name', true));
          if (alias === undefined) return { content: t.aliasInvalid({ max: ALIAS_MAX_CHARS }) };
          const voice = interaction.options.getString('voice');
          const current = await storage.getSettings(guildId);
          const known = Object.hasOwn(current.aliases, alias);
          if (voice === null) {
            if (!known) return { content: t.aliasUnknown({ alias }) };
            await storage.setAlias(guildId, alias, undefined);
            return { content: t.aliasRemoved({ alias }) };
          }
          const target = allowedVoice(voice, config);
          if (!known && Object.keys(current.aliases).length >= MAX_ALIASES) return { content: t.aliasTooMany({ max: MAX_ALIASES }) };
          await storage.setAlias(guildId, alias, target);
          return { content: t.aliasSet({ alias, voice: target }) };
        }

        case 'reset': {
          const fresh = await storage.resetSettings(guildId);
          return { content: `${t.settingsReset()}\n${renderSettings(t, locale, fresh, config)}` };
        }

        default:
          throw new Error(`Unknown /settings subcommand ${sub}`);
      }
    });
  },

  async autocomplete(interaction: AutocompleteInteraction, ctx: CommandContext): Promise<void> {
    const focused = interaction.options.getFocused(true);
    const typed = String(focused.value);
    if (focused.name === 'voice') {
      await interaction.respond(voiceChoices(ctx.config.voices, ctx.config.defaultVoice, typed));
      return;
    }
    // The alias names already set, so removing one is a pick from the list; never more than Discord's 25.
    if (focused.name === 'name' && ctx.storage && interaction.guildId && hasManageServer(interaction)) {
      const { aliases } = await ctx.storage.getSettings(interaction.guildId);
      const q = typed.trim().toLowerCase();
      const names = Object.keys(aliases)
        .filter((a) => a.includes(q))
        .sort()
        .slice(0, 25);
      await interaction.respond(names.map((a) => ({ name: `${a} → ${aliases[a]}`, value: a })));
      return;
    }
    await interaction.respond([]);
  },
};

/** The voice if the configuration allows it; otherwise the same `voice_unknown` refusal /narrate gives. */
function allowedVoice(voice: string, config: Config): string {
  if (!config.voices.includes(voice)) throw new NarratorError('user', 'voice_unknown', `Unknown voice "${voice}".`);
  return voice;
}

/** Discord enforces the option's range; checked again because a stored speed outlives this request. */
function checkedSpeed(speed: number): number {
  if (!Number.isFinite(speed) || speed < SPEED_MIN || speed > SPEED_MAX) {
    throw new NarratorError('user', 'speed_out_of_range', `Speed must be between ${SPEED_MIN} and ${SPEED_MAX}.`);
  }
  return speed;
}

/** The options given to `/settings limits` as a patch (0 for max_chars = back to the bot default), or undefined for none. */
function limitsPatch(interaction: ChatInputCommandInteraction): GuildSettingsPatch | undefined {
  const get = (name: string): number | undefined => {
    const value = interaction.options.getInteger(name);
    if (value === null) return undefined;
    // Discord enforces min/max; a non-integer or negative value can only come from a forged request.
    if (!Number.isSafeInteger(value) || value < 0) throw new NarratorError('user', 'bad_limit', `${name} must be a whole number ≥ 0.`);
    return value;
  };
  const maxChars = get('max_chars');
  const dailyChars = get('daily_chars');
  const userDailyChars = get('user_daily_chars');
  const cooldownSec = get('cooldown');
  if ([maxChars, dailyChars, userDailyChars, cooldownSec].every((v) => v === undefined)) return undefined;
  return {
    ...(maxChars !== undefined && maxChars > 0 ? { maxChars } : {}),
    ...(maxChars === 0 ? { clear: ['maxChars'] as const } : {}),
    ...(dailyChars !== undefined ? { dailyChars } : {}),
    ...(userDailyChars !== undefined ? { userDailyChars } : {}),
    ...(cooldownSec !== undefined ? { cooldownSec } : {}),
  };
}

/** Every setting with its value and its default. */
export function renderSettings(t: Texts, locale: string, s: GuildSettings, config: Config): string {
  const speed = numberFormat(locale, { maximumFractionDigits: 2 });
  const aliases = Object.entries(s.aliases)
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([alias, voice]) => `\`[${inlineCodeSafe(alias)}]\` → ${voice}`);
  const rows = [
    t.settingsRow({ label: t.labelVoice, value: s.voice ?? config.defaultVoice, fallback: config.defaultVoice }),
    t.settingsRow({ label: t.labelSpeed, value: speed(s.speed ?? config.defaultSpeed), fallback: speed(config.defaultSpeed) }),
    ...limitRows(t, locale, s),
    t.settingsRow({ label: t.labelRole, value: s.roleId ? `<@&${s.roleId}>` : t.valueEveryone, fallback: t.valueEveryone }),
    // At most 50 aliases of ≤ 32 characters: cut anyway, so the message always fits Discord's limit.
    t.settingsRow({ label: t.labelAliases, value: aliases.length ? truncate(aliases.join(', '), 1200) : t.valueNone, fallback: t.valueNone }),
  ];
  return truncate([t.settingsTitle(), ...rows].join('\n'), MESSAGE_LIMIT);
}

function renderLimits(t: Texts, locale: string, s: GuildSettings): string {
  return [t.settingsLimitsTitle(), ...limitRows(t, locale, s)].join('\n');
}

function limitRows(t: Texts, locale: string, s: GuildSettings): string[] {
  const n = numberFormat(locale);
  const chars = (v: number) => (v === 0 ? t.valueUnlimited : n(v));
  return [
    t.settingsRow({ label: t.labelMaxChars, value: n(s.maxChars ?? MAX_TEXT_CHARS), fallback: n(MAX_TEXT_CHARS) }),
    t.settingsRow({ label: t.labelDailyChars, value: chars(s.dailyChars), fallback: t.valueUnlimited }),
    t.settingsRow({ label: t.labelUserDailyChars, value: chars(s.userDailyChars), fallback: t.valueUnlimited }),
    t.settingsRow({
      label: t.labelCooldown,
      value: s.cooldownSec === 0 ? t.valueNone : t.valueSeconds({ seconds: n(s.cooldownSec) }),
      fallback: t.valueNone,
    }),
  ];
}
