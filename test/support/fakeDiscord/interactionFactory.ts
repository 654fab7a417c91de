/**
 * Builds the INTERACTION_CREATE payloads a Discord client would produce — slash commands, autocomplete, message
 * context-menu commands, button and select clicks — from the world as it is at that moment (member, permissions, app_permissions, locale, attachment
 * limit), refuses what Discord's UI would not let a user do (unregistered command, missing permissions, a component
 * that is not on the message), and registers each one as an Invocation with its 3 s / 15 min clock.
 */
import { randomBytes } from 'node:crypto';
import { ApplicationCommandType, ComponentType, GatewayDispatchEvents, InteractionContextType, InteractionType } from 'discord-api-types/v10';
import type {
  APIApplicationCommandAutocompleteGuildInteraction,
  APIApplicationCommandInteractionDataOption,
  APIChatInputApplicationCommandGuildInteraction,
  APIInteraction,
  APIMessageApplicationCommandGuildInteraction,
  APIMessageComponentGuildInteraction,
  Locale,
} from 'discord-api-types/v10';
import { NarratorError } from '../../../src/services/errors.js';
import type { ChangeFeed } from './changeFeed.js';
import type { CommandRegistry } from './commandRegistry.js';
import type { GatewayServer } from './gatewayServer.js';
import { buildOptions } from './interactionOptions.js';
import type { CommandInput, OptionValue } from './interactionOptions.js';
import { Invocation } from './invocation.js';
import type { MessageStore } from './messageStore.js';
import { hasPermission } from './permissions.js';
import type { UserUploads } from './userUploads.js';
import type { World } from './world.js';

export interface InvokeCommandOptions {
  readonly user: string;
  readonly guild: string;
  readonly channel: string;
  readonly name: string;
  readonly subcommandGroup?: string;
  readonly subcommand?: string;
  readonly options?: Readonly<Record<string, OptionValue>>;
  /** The invoking user's client locale (default "en-US"). */
  readonly locale?: `${Locale}`;
}

export interface InvokeMessageCommandOptions {
  readonly user: string;
  /** The message the user right-clicks (Apps → the command). */
  readonly message: string;
  /** The registered message command's name (e.g. "Narrate"). */
  readonly name: string;
  readonly locale?: `${Locale}`;
}

export interface AutocompleteOptions extends InvokeCommandOptions {
  /** The option the user is typing in; its current text is `options[focused]` (default ""). */
  readonly focused: string;
  /** How long to wait for the choices (default: the ack window, 3 s). */
  readonly timeoutMs?: number;
}

export interface ClickComponentOptions {
  readonly user: string;
  /** The message the button or select menu is on (it must carry a component with this custom_id). */
  readonly message: string;
  readonly customId: string;
  /** String-select values picked by the user. */
  readonly values?: readonly string[];
  /**
   * A button the user's client still shows although the message no longer has it (the bot removed it, or a view
   * from before a restart): the click is dispatched as a button even if the message has no such component now.
   */
  readonly stale?: boolean;
  readonly locale?: `${Locale}`;
}

export interface InteractionFactoryDeps {
  readonly world: World;
  readonly commands: CommandRegistry;
  readonly messages: MessageStore;
  readonly gateway: GatewayServer;
  readonly feed: ChangeFeed;
  readonly uploads: UserUploads;
  readonly ackWindowMs: number;
  readonly tokenTtlMs: number;
}

function misuse(message: string): NarratorError {
  return new NarratorError('user', 'fake_discord_misuse', `Fake Discord: ${message}`);
}

export class InteractionFactory {
  /** Every dispatched interaction, by id (the REST routes look them up here). */
  readonly invocations = new Map<string, Invocation>();

  constructor(private readonly deps: InteractionFactoryDeps) {}

  /** A slash command (or, in autocomplete mode, a user typing in one of its options). */
  command(opts: InvokeCommandOptions & { readonly focused?: string }, kind: 'command' | 'autocomplete'): Invocation {
    const world = this.deps.world;
    const guild = world.guild(opts.guild);
    const channel = world.channel(opts.channel);
    if (channel.guildId !== guild.id) throw misuse(`channel ${channel.id} is not in guild ${guild.id}.`);
    world.member(guild.id, opts.user);
    if (!this.deps.gateway.activeSession) throw misuse('the bot is not connected to the gateway (await fake.waitForBotReady() first).');
    const command = this.deps.commands.find(guild.id, opts.name);
    if (!command) {
      throw misuse(`no chat-input command "/${opts.name}" is registered for guild ${guild.id} (the bot must PUT it, or pass it in FakeDiscord.start({ commands })).`);
    }
    const userPerms = world.permissionsOf(guild.id, opts.user, channel.id);
    if (!hasPermission(userPerms, 'UseApplicationCommands')) throw misuse(`user ${opts.user} may not use application commands in channel ${channel.id}.`);
    const required = command.definition.default_member_permissions;
    if (required && (world.permissionsOf(guild.id, opts.user) & BigInt(required)) !== BigInt(required)) {
      throw misuse(`/${opts.name} needs default_member_permissions ${required}, which user ${opts.user} lacks: Discord would not show it.`);
    }
    const input: CommandInput = {
      ...(opts.subcommandGroup !== undefined ? { subcommandGroup: opts.subcommandGroup } : {}),
      ...(opts.subcommand !== undefined ? { subcommand: opts.subcommand } : {}),
      ...(opts.options !== undefined ? { options: opts.options } : {}),
    };
    const built = buildOptions(command, input, {
      world,
      guildId: guild.id,
      userId: opts.user,
      mode: kind,
      attachment: (id) => {
        const upload = this.deps.uploads.get(id);
        // A file already posted in a message is not a fresh pick for an option.
        return upload && upload.channelId === undefined ? this.deps.uploads.toApi(upload) : undefined;
      },
      ...(opts.focused !== undefined ? { focused: opts.focused } : {}),
    });
    const common = this.#interactionBase(guild.id, channel.id, opts.user, opts.locale);
    const data = {
      id: command.id,
      name: command.definition.name,
      type: ApplicationCommandType.ChatInput as const,
      ...(command.guildId ? { guild_id: command.guildId } : {}),
      // The option shapes are built from the registered definition; the API's per-type unions cannot see that.
      options: built.options as APIApplicationCommandInteractionDataOption[],
      ...(built.resolved ? { resolved: built.resolved } : {}),
    };
    const payload: APIChatInputApplicationCommandGuildInteraction | APIApplicationCommandAutocompleteGuildInteraction =
      kind === 'command'
        ? { ...common, type: InteractionType.ApplicationCommand, data }
        : { ...common, type: InteractionType.ApplicationCommandAutocomplete, data: { ...data, options: data.options as APIApplicationCommandInteractionDataOption<InteractionType.ApplicationCommandAutocomplete>[] } };
    return this.#register(kind, payload, command.definition.name);
  }

  /**
   * A message context-menu command (Apps → name, on a message): type 2 with `data.type` 3, the message as
   * `target_id` and in `resolved.messages` (content included: apps get it without the Message Content intent).
   */
  messageCommand(opts: InvokeMessageCommandOptions): Invocation {
    const world = this.deps.world;
    const stored = this.deps.messages.get(opts.message);
    const channel = world.channel(stored.channelId);
    const guild = world.guild(channel.guildId);
    world.member(guild.id, opts.user);
    const command = this.deps.commands.findOfType(guild.id, opts.name, ApplicationCommandType.Message);
    if (!command) throw misuse(`no message command "${opts.name}" is registered for guild ${guild.id}.`);
    const userPerms = world.permissionsOf(guild.id, opts.user, channel.id);
    // The user must see the message to right-click it, and may use apps there.
    if (!hasPermission(userPerms, 'ViewChannel')) throw misuse(`user ${opts.user} cannot see channel ${channel.id}.`);
    if (!hasPermission(userPerms, 'UseApplicationCommands')) throw misuse(`user ${opts.user} may not use application commands in channel ${channel.id}.`);
    const required = command.definition.default_member_permissions;
    if (required && (world.permissionsOf(guild.id, opts.user) & BigInt(required)) !== BigInt(required)) {
      throw misuse(`"${opts.name}" needs default_member_permissions ${required}, which user ${opts.user} lacks: Discord would not show it.`);
    }
    const base = this.#interactionBase(guild.id, channel.id, opts.user, opts.locale);
    const payload: APIMessageApplicationCommandGuildInteraction = {
      ...base,
      type: InteractionType.ApplicationCommand,
      data: {
        id: command.id,
        name: command.definition.name,
        type: ApplicationCommandType.Message,
        ...(command.guildId ? { guild_id: command.guildId } : {}),
        target_id: stored.id,
        resolved: { messages: { [stored.id]: this.deps.messages.toApi(stored) } },
      },
    };
    return this.#register('command', payload, command.definition.name);
  }

  /** A button click or string-select pick on one of the bot's messages. */
  component(opts: ClickComponentOptions): Invocation {
    const stored = this.deps.messages.get(opts.message);
    const component = findComponent(stored.components, opts.customId) ?? (opts.stale ? { type: ComponentType.Button } : undefined);
    if (!component) throw misuse(`message ${opts.message} has no component with custom_id "${opts.customId}".`);
    const channel = this.deps.world.channel(stored.channelId);
    const isSelect = component.type === ComponentType.StringSelect;
    if (!isSelect && component.type !== ComponentType.Button) throw misuse(`component "${opts.customId}" has type ${component.type}; the fake clicks buttons and string selects only.`);
    const base = this.#interactionBase(channel.guildId, channel.id, opts.user, opts.locale);
    const data = isSelect
      ? { custom_id: opts.customId, component_type: ComponentType.StringSelect as const, values: [...(opts.values ?? [])] }
      : { custom_id: opts.customId, component_type: ComponentType.Button as const };
    const payload: APIMessageComponentGuildInteraction = { ...base, type: InteractionType.MessageComponent, data, message: this.deps.messages.toApi(stored) };
    return this.#register('component', payload, opts.customId, stored.id);
  }

  /** The fields every guild interaction carries, computed from the world as it is now. */
  #interactionBase(guildId: string, channelId: string, userId: string, locale: `${Locale}` | undefined) {
    const world = this.deps.world;
    const guild = world.guild(guildId);
    const id = world.ids.next();
    return {
      id,
      application_id: world.applicationId,
      guild: { id: guild.id, locale: guild.preferredLocale, features: [] },
      guild_id: guild.id,
      channel: world.apiChannel(channelId),
      channel_id: channelId,
      member: { ...world.apiMember(guild.id, userId), permissions: world.permissionsOf(guild.id, userId, channelId).toString() },
      token: `fake-interaction-${id}-${randomBytes(12).toString('base64url')}`,
      version: 1 as const,
      app_permissions: world.permissionsOf(guild.id, world.bot.id, channelId).toString(),
      locale: (locale ?? 'en-US') as Locale,
      guild_locale: guild.preferredLocale,
      entitlements: [],
      authorizing_integration_owners: { 0: guild.id },
      context: InteractionContextType.Guild,
      attachment_size_limit: guild.attachmentSizeLimit,
    };
  }

  #register(kind: Invocation['kind'], payload: APIInteraction, name: string, componentMessageId?: string): Invocation {
    if (!this.deps.gateway.activeSession) throw misuse('the bot is not connected to the gateway (await fake.waitForBotReady() first).');
    const createdAt = performance.now();
    const inv = new Invocation(
      kind,
      payload,
      name,
      createdAt,
      { ackDeadline: createdAt + this.deps.ackWindowMs, tokenExpiresAt: createdAt + this.deps.tokenTtlMs },
      this.deps.feed,
      this.deps.messages,
    );
    inv.componentMessageId = componentMessageId;
    this.invocations.set(inv.id, inv);
    this.deps.gateway.dispatch(GatewayDispatchEvents.InteractionCreate, payload);
    return inv;
  }

}

/** Depth-first search for a component by custom_id through action rows, containers and section accessories. */
function findComponent(node: unknown, customId: string): { readonly type: number } | undefined {
  if (Array.isArray(node)) {
    for (const child of node) {
      const found = findComponent(child, customId);
      if (found) return found;
    }
    return undefined;
  }
  if (typeof node !== 'object' || node === null) return undefined;
  if ('custom_id' in node && node.custom_id === customId && 'type' in node && typeof node.type === 'number') return { type: node.type };
  for (const value of Object.values(node)) {
    if (typeof value === 'object' && value !== null) {
      const found = findComponent(value, customId);
      if (found) return found;
    }
  }
  return undefined;
}
