/**
 * Turns a test's `{ name: value }` options into the `data.options` (and `data.resolved`) Discord's client would
 * send for a registered command: typed by the command's definition (an attachment option takes an uploaded file's id), in definition order, nested under a
 * subcommand/group when given. Values the Discord client would never let a user submit (missing required options,
 * a value outside `choices`, `min/max_value`, `min/max_length`, an unknown option) throw in the test instead,
 * because the bot can never receive them. Autocomplete mode follows Discord: numbers arrive as the typed strings,
 * required options may be missing, and exactly one option carries `focused: true`.
 */
import { ApplicationCommandOptionType } from 'discord-api-types/v10';
import type { APIAttachment, APIInteractionDataResolvedChannel, APIInteractionDataResolvedGuildMember, APIRole, APIUser } from 'discord-api-types/v10';
import { NarratorError } from '../../../src/services/errors.js';
import type { StoredCommand } from './commandRegistry.js';
import { isBasicOption, isSubcommand, isSubcommandGroup } from './schemas.js';
import type { BasicOptionDefinition, OptionDefinition } from './schemas.js';
import type { World } from './world.js';

export type OptionValue = string | number | boolean;

export interface CommandInput {
  readonly subcommandGroup?: string;
  readonly subcommand?: string;
  readonly options?: Readonly<Record<string, OptionValue>>;
}

export interface DataOption {
  readonly name: string;
  readonly type: ApplicationCommandOptionType;
  readonly value?: OptionValue;
  readonly options?: DataOption[];
  readonly focused?: boolean;
}

export interface ResolvedData {
  users?: Record<string, APIUser>;
  members?: Record<string, APIInteractionDataResolvedGuildMember>;
  roles?: Record<string, APIRole>;
  channels?: Record<string, APIInteractionDataResolvedChannel>;
  attachments?: Record<string, APIAttachment>;
}

export interface OptionContext {
  readonly world: World;
  readonly guildId: string;
  /** The invoking user (resolved channels carry their permissions). */
  readonly userId: string;
  readonly mode: 'command' | 'autocomplete';
  /** Autocomplete only: the option the user is typing in. */
  readonly focused?: string;
  /** Files uploaded with `fake.uploadAttachment` (an attachment option's value is the upload's id). */
  readonly attachment?: (id: string) => APIAttachment | undefined;
}

function misuse(message: string): NarratorError {
  return new NarratorError('user', 'fake_discord_bad_options', `Fake Discord: ${message}`);
}

export function buildOptions(command: StoredCommand, input: CommandInput, ctx: OptionContext): { options: DataOption[]; resolved?: ResolvedData } {
  const name = command.definition.name;
  const top = command.definition.options ?? [];
  const resolved: ResolvedData = {};
  let path = `/${name}`;
  let basics: readonly OptionDefinition[] = top;
  let wrap = (options: DataOption[]): DataOption[] => options;

  if (input.subcommandGroup !== undefined) {
    const group = top.filter(isSubcommandGroup).find((o) => o.name === input.subcommandGroup);
    if (!group) throw misuse(`${path} has no subcommand group "${input.subcommandGroup}".`);
    path += ` ${group.name}`;
    const sub = (group.options ?? []).find((o) => o.name === input.subcommand);
    if (!sub) throw misuse(`${path} has no subcommand "${input.subcommand ?? '(none given)'}".`);
    path += ` ${sub.name}`;
    basics = sub.options ?? [];
    wrap = (options) => [
      { name: group.name, type: ApplicationCommandOptionType.SubcommandGroup, options: [{ name: sub.name, type: ApplicationCommandOptionType.Subcommand, options }] },
    ];
  } else if (input.subcommand !== undefined) {
    const sub = top.filter(isSubcommand).find((o) => o.name === input.subcommand);
    if (!sub) throw misuse(`${path} has no subcommand "${input.subcommand}".`);
    path += ` ${sub.name}`;
    basics = sub.options ?? [];
    wrap = (options) => [{ name: sub.name, type: ApplicationCommandOptionType.Subcommand, options }];
  } else if (top.some((o) => !isBasicOption(o))) {
    throw misuse(`${path} needs a subcommand: ${top.map((o) => o.name).join(', ')}.`);
  }

  const given = input.options ?? {};
  const defs = basics.filter(isBasicOption);
  for (const key of Object.keys(given)) {
    if (!defs.some((d) => d.name === key)) throw misuse(`${path} has no option "${key}" (it has: ${defs.map((d) => d.name).join(', ') || 'none'}).`);
  }
  if (ctx.mode === 'autocomplete') {
    const focused = defs.find((d) => d.name === ctx.focused);
    if (!focused) throw misuse(`${path} has no option "${ctx.focused ?? '(none)'}" to autocomplete.`);
    if (!focused.autocomplete) throw misuse(`${path} option "${focused.name}" is not registered with autocomplete: true, so Discord never sends autocomplete for it.`);
  }

  const options: DataOption[] = [];
  for (const def of defs) {
    const value = given[def.name];
    if (value === undefined) {
      if (def.required && ctx.mode === 'command') throw misuse(`${path} requires option "${def.name}".`);
      if (ctx.mode === 'autocomplete' && def.name === ctx.focused) {
        options.push({ name: def.name, type: def.type, value: '', focused: true });
      }
      continue;
    }
    if (ctx.mode === 'autocomplete') {
      // While typing, Discord sends what is in the box: numbers too arrive as strings.
      const raw = typeof value === 'boolean' ? value : String(value);
      options.push({ name: def.name, type: def.type, value: raw, ...(def.name === ctx.focused ? { focused: true } : {}) });
      continue;
    }
    options.push({ name: def.name, type: def.type, value: checkValue(def, value, path, ctx, resolved) });
  }
  const hasResolved = Object.keys(resolved).length > 0;
  return { options: wrap(options), ...(hasResolved ? { resolved } : {}) };
}

function checkValue(def: BasicOptionDefinition, value: OptionValue, path: string, ctx: OptionContext, resolved: ResolvedData): OptionValue {
  const where = `${path} option "${def.name}"`;
  const choices = def.choices ?? [];
  if (choices.length > 0 && !choices.some((c) => c.value === value)) {
    throw misuse(`${where} must be one of its choices (${choices.map((c) => JSON.stringify(c.value)).join(', ')}), got ${JSON.stringify(value)}.`);
  }
  switch (def.type) {
    case ApplicationCommandOptionType.String: {
      if (typeof value !== 'string') throw misuse(`${where} is a string option, got ${JSON.stringify(value)}.`);
      const max = def.max_length ?? 6000;
      const min = def.min_length ?? 0;
      if (value.length > max || value.length < min) throw misuse(`${where} must be ${min}–${max} characters, got ${value.length}.`);
      return value;
    }
    case ApplicationCommandOptionType.Integer:
    case ApplicationCommandOptionType.Number: {
      if (typeof value !== 'number' || !Number.isFinite(value)) throw misuse(`${where} is a number option, got ${JSON.stringify(value)}.`);
      if (def.type === ApplicationCommandOptionType.Integer && !Number.isInteger(value)) throw misuse(`${where} is an integer option, got ${value}.`);
      if ((def.min_value !== undefined && value < def.min_value) || (def.max_value !== undefined && value > def.max_value)) {
        throw misuse(`${where} must be within [${def.min_value ?? '-∞'}, ${def.max_value ?? '∞'}], got ${value}.`);
      }
      return value;
    }
    case ApplicationCommandOptionType.Boolean:
      if (typeof value !== 'boolean') throw misuse(`${where} is a boolean option, got ${JSON.stringify(value)}.`);
      return value;
    case ApplicationCommandOptionType.User:
    case ApplicationCommandOptionType.Mentionable: {
      if (typeof value !== 'string') throw misuse(`${where} takes a user id, got ${JSON.stringify(value)}.`);
      const guild = ctx.world.guild(ctx.guildId);
      if (def.type === ApplicationCommandOptionType.Mentionable && guild.roles.has(value)) {
        resolveRole(ctx, value, resolved);
        return value;
      }
      const user = ctx.world.apiUser(value);
      resolved.users = { ...resolved.users, [value]: user };
      if (guild.members.has(value)) {
        const { user: _user, deaf: _deaf, mute: _mute, ...member } = ctx.world.apiMember(ctx.guildId, value);
        resolved.members = { ...resolved.members, [value]: { ...member, permissions: ctx.world.permissionsOf(ctx.guildId, value).toString() } };
      }
      return value;
    }
    case ApplicationCommandOptionType.Role:
      if (typeof value !== 'string') throw misuse(`${where} takes a role id, got ${JSON.stringify(value)}.`);
      resolveRole(ctx, value, resolved);
      return value;
    case ApplicationCommandOptionType.Channel: {
      if (typeof value !== 'string') throw misuse(`${where} takes a channel id, got ${JSON.stringify(value)}.`);
      const channel = ctx.world.apiChannel(value);
      if (def.channel_types && !def.channel_types.includes(channel.type)) throw misuse(`${where} does not accept channel type ${channel.type}.`);
      resolved.channels = {
        ...resolved.channels,
        [value]: { id: channel.id, name: channel.name, type: channel.type, permissions: ctx.world.permissionsOf(ctx.guildId, ctx.userId, value).toString() },
      };
      return value;
    }
    case ApplicationCommandOptionType.Attachment: {
      // The user picked a file: Discord uploads it first and sends its id, with the file in `resolved.attachments`.
      const attachment = typeof value === 'string' ? ctx.attachment?.(value) : undefined;
      if (!attachment) throw misuse(`${where} takes the id of a file uploaded with fake.uploadAttachment, got ${JSON.stringify(value)}.`);
      resolved.attachments = { ...resolved.attachments, [value as string]: attachment };
      return value;
    }
    default:
      throw misuse(`${where} has type ${def.type}, which the fake does not support.`);
  }
}

function resolveRole(ctx: OptionContext, roleId: string, resolved: ResolvedData): void {
  const role = ctx.world.guild(ctx.guildId).roles.get(roleId);
  if (!role) throw misuse(`no role ${roleId} in guild ${ctx.guildId}.`);
  resolved.roles = { ...resolved.roles, [roleId]: ctx.world.apiRole(role) };
}
