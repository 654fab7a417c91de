/**
 * The application's registered commands (global and per guild), as set by bulk-overwrite PUTs or single POSTs.
 * Definitions are checked against the rules Discord enforces on registration (names, description lengths, at most
 * 25 options and choices, required options first, `max_length` ≤ 6000, no choices together with autocomplete), so a
 * definition Discord would reject with 50035 is rejected here too. A command keeps its id when re-registered under
 * the same name, as on Discord.
 */
import { ApplicationCommandType } from 'discord-api-types/v10';
import { invalidFormBody } from './discordHttpError.js';
import { isSubcommand, isSubcommandGroup } from './schemas.js';
import type { BasicOptionDefinition, CommandDefinition, OptionDefinition } from './schemas.js';
import type { World } from './world.js';

export interface StoredCommand {
  readonly id: string;
  readonly applicationId: string;
  /** Undefined for global commands. */
  readonly guildId: string | undefined;
  readonly version: string;
  readonly definition: CommandDefinition;
}

const NAME = /^[-_'\p{L}\p{N}\p{sc=Deva}\p{sc=Thai}]{1,32}$/u;
const MAX_OPTIONS = 25;
const MAX_CHOICES = 25;
const MAX_STRING_LENGTH = 6000;

export class CommandRegistry {
  readonly #commands: StoredCommand[] = [];

  constructor(private readonly world: World) {}

  get all(): readonly StoredCommand[] {
    return this.#commands;
  }

  list(guildId: string | undefined): StoredCommand[] {
    return this.#commands.filter((c) => c.guildId === guildId);
  }

  /** Bulk overwrite: the scope's commands become exactly `definitions`. */
  overwrite(guildId: string | undefined, definitions: readonly CommandDefinition[]): StoredCommand[] {
    definitions.forEach((d, i) => validateCommand(d, [i]));
    const seen = new Set<string>();
    definitions.forEach((d, i) => {
      const key = `${d.type ?? 1}:${d.name}`;
      if (seen.has(key)) throw invalidFormBody([i, 'name'], 'APPLICATION_COMMANDS_DUPLICATE_NAME', `Application command names must be unique`);
      seen.add(key);
    });
    const previous = this.list(guildId);
    const next = definitions.map((d) => this.#store(guildId, d, previous));
    for (let i = this.#commands.length - 1; i >= 0; i--) if (this.#commands[i]?.guildId === guildId) this.#commands.splice(i, 1);
    this.#commands.push(...next);
    return next;
  }

  /** Create-or-replace one command by name. */
  upsert(guildId: string | undefined, definition: CommandDefinition): StoredCommand {
    validateCommand(definition, []);
    const previous = this.list(guildId);
    const stored = this.#store(guildId, definition, previous);
    const index = this.#commands.findIndex((c) => c.id === stored.id);
    if (index >= 0) this.#commands.splice(index, 1, stored);
    else this.#commands.push(stored);
    return stored;
  }

  remove(commandId: string): boolean {
    const index = this.#commands.findIndex((c) => c.id === commandId);
    if (index < 0) return false;
    this.#commands.splice(index, 1);
    return true;
  }

  /** The chat-input command a user in `guildId` would see under `name` (guild commands shadow global ones). */
  find(guildId: string, name: string): StoredCommand | undefined {
    const isChatInput = (c: StoredCommand): boolean =>
      c.definition.name === name && (c.definition.type ?? ApplicationCommandType.ChatInput) === ApplicationCommandType.ChatInput;
    return this.list(guildId).find(isChatInput) ?? this.list(undefined).find(isChatInput);
  }

  /** The command of `type` a user in `guildId` would see under `name` (guild commands shadow global ones). */
  findOfType(guildId: string, name: string, type: ApplicationCommandType): StoredCommand | undefined {
    const matches = (c: StoredCommand): boolean => c.definition.name === name && (c.definition.type ?? ApplicationCommandType.ChatInput) === type;
    return this.list(guildId).find(matches) ?? this.list(undefined).find(matches);
  }

  toApi(command: StoredCommand): Record<string, unknown> {
    const d = command.definition;
    return {
      ...d,
      id: command.id,
      application_id: command.applicationId,
      ...(command.guildId ? { guild_id: command.guildId } : {}),
      version: command.version,
      type: d.type ?? ApplicationCommandType.ChatInput,
      description: d.description ?? '',
      default_member_permissions: d.default_member_permissions ?? null,
      nsfw: d.nsfw ?? false,
      ...(command.guildId ? {} : { integration_types: d.integration_types ?? [0], contexts: d.contexts ?? null }),
    };
  }

  #store(guildId: string | undefined, definition: CommandDefinition, previous: readonly StoredCommand[]): StoredCommand {
    const same = previous.find((c) => c.definition.name === definition.name && (c.definition.type ?? 1) === (definition.type ?? 1));
    return {
      id: same?.id ?? this.world.ids.next(),
      applicationId: this.world.applicationId,
      guildId,
      version: this.world.ids.next(),
      definition,
    };
  }
}

function validateCommand(d: CommandDefinition, path: (string | number)[]): void {
  const type = d.type ?? ApplicationCommandType.ChatInput;
  if (type === ApplicationCommandType.User || type === ApplicationCommandType.Message) {
    // Context-menu commands: any case and spaces, 1–32 characters; no description, no options.
    const names = [d.name, ...Object.values(d.name_localizations ?? {})];
    names.forEach((name) => {
      if (typeof name !== 'string' || name.trim().length < 1 || [...name].length > 32) throw invalidFormBody([...path, 'name'], 'BASE_TYPE_BAD_LENGTH', 'Must be between 1 and 32 in length.');
    });
    if (d.description) throw invalidFormBody([...path, 'description'], 'APPLICATION_COMMAND_CONTEXT_MENU_DESCRIPTION', 'Context menu commands cannot have description');
    if ((d.options ?? []).length > 0) throw invalidFormBody([...path, 'options'], 'APPLICATION_COMMAND_CONTEXT_MENU_OPTIONS', 'Context menu commands cannot have options');
    return;
  }
  if (type !== ApplicationCommandType.ChatInput) return;
  validateName(d.name, [...path, 'name']);
  validateDescription(d.description ?? '', [...path, 'description']);
  validateOptionList(d.options ?? [], [...path, 'options']);
}

function validateName(name: string, path: (string | number)[]): void {
  if (!NAME.test(name) || name !== name.toLowerCase()) {
    throw invalidFormBody(path, 'APPLICATION_COMMAND_INVALID_NAME', `Command name is invalid`);
  }
}

function validateDescription(description: string, path: (string | number)[]): void {
  if (description.length < 1 || description.length > 100) {
    throw invalidFormBody(path, 'BASE_TYPE_BAD_LENGTH', 'Must be between 1 and 100 in length.');
  }
}

function validateOptionList(options: readonly OptionDefinition[], path: (string | number)[]): void {
  if (options.length > MAX_OPTIONS) throw invalidFormBody(path, 'BASE_TYPE_MAX_LENGTH', `Must be ${MAX_OPTIONS} or fewer in length.`);
  const names = new Set<string>();
  let sawOptional = false;
  options.forEach((option, i) => {
    const here = [...path, i];
    validateName(option.name, [...here, 'name']);
    validateDescription(option.description, [...here, 'description']);
    if (names.has(option.name)) {
      throw invalidFormBody([...here, 'name'], 'APPLICATION_COMMAND_OPTIONS_NAME_ALREADY_EXISTS', 'Option names must be unique');
    }
    names.add(option.name);
    if (isSubcommandGroup(option) || isSubcommand(option)) {
      validateOptionList(option.options ?? [], [...here, 'options']);
      return;
    }
    const basic: BasicOptionDefinition = option;
    if (basic.required) {
      if (sawOptional) throw invalidFormBody(here, 'APPLICATION_COMMAND_OPTIONS_REQUIRED_INVALID', 'Required options must be placed before non-required options');
    } else {
      sawOptional = true;
    }
    validateBasicOption(basic, here);
  });
}

function validateBasicOption(o: BasicOptionDefinition, path: (string | number)[]): void {
  const choices = o.choices ?? [];
  if (choices.length > MAX_CHOICES) throw invalidFormBody([...path, 'choices'], 'BASE_TYPE_MAX_LENGTH', `Must be ${MAX_CHOICES} or fewer in length.`);
  if (choices.length > 0 && o.autocomplete) {
    throw invalidFormBody([...path, 'autocomplete'], 'APPLICATION_COMMAND_OPTION_AUTOCOMPLETE_WITH_CHOICES', 'Autocomplete cannot be set with choices');
  }
  choices.forEach((c, i) => {
    if (c.name.length < 1 || c.name.length > 100) {
      throw invalidFormBody([...path, 'choices', i, 'name'], 'BASE_TYPE_BAD_LENGTH', 'Must be between 1 and 100 in length.');
    }
    if (typeof c.value === 'string' && c.value.length > 100) {
      throw invalidFormBody([...path, 'choices', i, 'value'], 'BASE_TYPE_BAD_LENGTH', 'Must be between 1 and 100 in length.');
    }
  });
  if (o.max_length !== undefined && (o.max_length < 1 || o.max_length > MAX_STRING_LENGTH)) {
    throw invalidFormBody([...path, 'max_length'], 'NUMBER_TYPE_MAX', `int value should be between 1 and ${MAX_STRING_LENGTH}.`);
  }
  if (o.min_length !== undefined && (o.min_length < 0 || o.min_length > MAX_STRING_LENGTH)) {
    throw invalidFormBody([...path, 'min_length'], 'NUMBER_TYPE_MAX', `int value should be between 0 and ${MAX_STRING_LENGTH}.`);
  }
}
