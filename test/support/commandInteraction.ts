/**
 * Stand-in interactions for the storage-backed commands (/settings /voice /usage /dictionary): plain objects with the
 * fields discord.js gives a handler (locale, guild, member permissions as Discord computed them, typed options,
 * subcommand) that record every answer. The handlers run for real against a real Storage; only Discord is stood in
 * for, because what is tested is what the member reads and what the database holds afterwards.
 */
import { MessageFlags, PermissionFlagsBits, type AutocompleteInteraction, type ChatInputCommandInteraction } from 'discord.js';

export interface Answer {
  readonly kind: 'reply' | 'deferReply' | 'editReply' | 'followUp';
  readonly payload: {
    content?: string;
    flags?: number;
    files?: { attachment: Buffer; name: string }[];
    allowedMentions?: unknown;
  } & Record<string, unknown>;
}

export interface CommandInvocation {
  readonly guildId?: string | null;
  readonly userId?: string;
  readonly locale?: string;
  /** The member has Manage Server (as Discord computes it into `member.permissions`). */
  readonly manageServer?: boolean;
  readonly subcommand: string;
  /** Option values by name; a role option is given as `{ id }`. */
  readonly options?: Readonly<Record<string, string | number | { id: string } | undefined>>;
}

export function invoke(o: CommandInvocation): { interaction: ChatInputCommandInteraction; answers: Answer[] } {
  const answers: Answer[] = [];
  const option = (name: string) => o.options?.[name];
  const required = (name: string, req?: boolean) => {
    const v = option(name);
    if (v === undefined && req) throw new Error(`required option ${name} missing`);
    return v;
  };
  const interaction = {
    deferred: false,
    replied: false,
    locale: o.locale ?? 'en-US',
    guildId: o.guildId === undefined ? '900' : o.guildId,
    commandName: 'x',
    user: { id: o.userId ?? '42' },
    memberPermissions: { has: (flag: bigint) => flag === PermissionFlagsBits.ManageGuild && !!o.manageServer },
    options: {
      getSubcommand: () => o.subcommand,
      getString: (name: string, req?: boolean) => (required(name, req) as string | undefined) ?? null,
      getNumber: (name: string, req?: boolean) => (required(name, req) as number | undefined) ?? null,
      getInteger: (name: string, req?: boolean) => (required(name, req) as number | undefined) ?? null,
      getRole: (name: string, req?: boolean) => (required(name, req) as { id: string } | undefined) ?? null,
    },
    reply: async (payload: Answer['payload']) => {
      answers.push({ kind: 'reply', payload });
      interaction.replied = true;
    },
    deferReply: async (payload: Answer['payload'] = {}) => {
      answers.push({ kind: 'deferReply', payload });
      interaction.deferred = true;
    },
    editReply: async (payload: Answer['payload']) => void answers.push({ kind: 'editReply', payload }),
    followUp: async (payload: Answer['payload']) => void answers.push({ kind: 'followUp', payload }),
  };
  return { interaction: interaction as unknown as ChatInputCommandInteraction, answers };
}

export const isEphemeral = (a: Answer | undefined): boolean => a !== undefined && ((a.payload.flags ?? 0) & MessageFlags.Ephemeral) !== 0;

/**
 * What the member finally reads, checked to be private: either one ephemeral reply, or an ephemeral defer followed by
 * the edit that fills it. Mentions never ping.
 */
export function privateAnswer(answers: readonly Answer[]): Answer['payload'] & { content: string } {
  const first = answers[0];
  if (!first) throw new Error('no answer at all');
  if (!isEphemeral(first)) throw new Error(`the first answer (${first.kind}) is not ephemeral`);
  const final = first.kind === 'deferReply' ? answers.find((a) => a.kind === 'editReply') : first;
  if (!final || typeof final.payload.content !== 'string') throw new Error(`no content after ${answers.map((a) => a.kind).join(', ')}`);
  if (JSON.stringify(final.payload.allowedMentions) !== '{"parse":[]}') throw new Error('mentions could ping');
  if (answers.some((a) => a.kind === 'followUp')) throw new Error('unexpected follow-up');
  return final.payload as Answer['payload'] & { content: string };
}

export function autocompleteOf(o: {
  guildId?: string;
  manageServer?: boolean;
  focused: string;
  value: string;
}): { interaction: AutocompleteInteraction; choices: () => { name: string; value: string }[] | undefined } {
  let answered: { name: string; value: string }[] | undefined;
  const interaction = {
    guildId: o.guildId ?? '900',
    memberPermissions: { has: (flag: bigint) => flag === PermissionFlagsBits.ManageGuild && !!o.manageServer },
    options: { getFocused: () => ({ name: o.focused, value: o.value }) },
    respond: async (choices: { name: string; value: string }[]) => {
      if (answered) throw new Error('answered twice');
      answered = choices;
    },
  };
  return { interaction: interaction as unknown as AutocompleteInteraction, choices: () => answered };
}
