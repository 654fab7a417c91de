/**
 * `/dictionary add word say`, `/dictionary remove word` (Manage Server) and `/dictionary list` (anyone) — the
 * server's pronunciation dictionary (issue 10): whole-word, case-insensitive replacements the engine applies while
 * cleaning the text (services/text), so `TP.HCM` is read "Thành phố Hồ Chí Minh".
 *
 * No `default_member_permissions`, because `list` is for everyone: add/remove check Manage Server at run time.
 * Entries are checked here with the engine's limits before they are stored (`checkEntry`), so a bad entry is refused
 * with a clear message instead of failing every later narration. Words and replacements are admin-typed text: they
 * are shown only inside code spans (backticks replaced), never as markdown. A list longer than one message is
 * attached as a text file.
 */
import type { AutocompleteInteraction, ChatInputCommandInteraction } from 'discord.js';
import { NarratorError } from '../services/errors.js';
import { hasSpeakable } from '../services/text/index.js';
import type { DictionaryEntry } from '../services/storage/types.js';
import { inlineCodeSafe, langOf, MESSAGE_LIMIT, texts, type Texts } from '../messages.js';
import { answerFromStorage, guildCommand, hasManageServer, localized, replyEphemeral, type StorageReply } from './common.js';
import type { Command, CommandContext } from './types.js';

/** The engine's limits (services/text: DICTIONARY_MAX_ENTRIES / _WORD / _SAY). */
export const DICTIONARY_MAX_ENTRIES = 200;
export const DICTIONARY_MAX_WORD = 64;
export const DICTIONARY_MAX_SAY = 200;

export const dictionary: Command = {
  data: guildCommand('dictionary', 'cmdDictionaryDescription')
    .addSubcommand((s) =>
      localized(s, 'add', 'subDictionaryAddDescription')
        .addStringOption((o) => localized(o, 'word', 'optDictionaryWordDescription').setRequired(true).setMaxLength(DICTIONARY_MAX_WORD))
        .addStringOption((o) => localized(o, 'say', 'optDictionarySayDescription').setRequired(true).setMaxLength(DICTIONARY_MAX_SAY)),
    )
    .addSubcommand((s) =>
      localized(s, 'remove', 'subDictionaryRemoveDescription').addStringOption((o) =>
        localized(o, 'word', 'optDictionaryWordDescription').setRequired(true).setMaxLength(DICTIONARY_MAX_WORD).setAutocomplete(true),
      ),
    )
    .addSubcommand((s) => localized(s, 'list', 'subDictionaryListDescription')),

  async execute(interaction: ChatInputCommandInteraction, ctx: CommandContext): Promise<void> {
    const t = texts(langOf(interaction.locale));
    if (!interaction.guildId) return replyEphemeral(interaction, t.guildOnly());
    const sub = interaction.options.getSubcommand(true);
    if (sub !== 'list' && !hasManageServer(interaction)) return replyEphemeral(interaction, t.needManageServer());

    await answerFromStorage(interaction, ctx, async (storage, guildId) => {
      switch (sub) {
        case 'add': {
          const entry = checkEntry({ word: interaction.options.getString('word', true), say: interaction.options.getString('say', true) });
          const existing = await storage.listDictionary(guildId);
          const replaces = existing.some((e) => sameWord(e.word, entry.word));
          if (!replaces && existing.length >= DICTIONARY_MAX_ENTRIES) {
            throw new NarratorError('user', 'dictionary_full', `The dictionary is full (${DICTIONARY_MAX_ENTRIES} words).`);
          }
          await storage.addDictionary(guildId, entry);
          const shown = { word: inlineCodeSafe(entry.word), say: inlineCodeSafe(entry.say) };
          return { content: replaces ? t.dictionaryChanged(shown) : t.dictionaryAdded(shown) };
        }

        case 'remove': {
          const word = normalizeWord(interaction.options.getString('word', true));
          const removed = word !== '' && (await storage.removeDictionary(guildId, word));
          return { content: removed ? t.dictionaryRemoved({ word: inlineCodeSafe(word) }) : t.dictionaryNotFound({ word: inlineCodeSafe(word) }) };
        }

        case 'list':
          return renderDictionary(t, await storage.listDictionary(guildId));

        default:
          throw new Error(`Unknown /dictionary subcommand ${sub}`);
      }
    });
  },

  async autocomplete(interaction: AutocompleteInteraction, ctx: CommandContext): Promise<void> {
    const focused = interaction.options.getFocused(true);
    if (focused.name !== 'word' || !ctx.storage || !interaction.guildId || !hasManageServer(interaction)) {
      await interaction.respond([]);
      return;
    }
    const q = String(focused.value).trim().toLowerCase();
    const entries = (await ctx.storage.listDictionary(interaction.guildId))
      .filter((e) => e.word.toLowerCase().includes(q))
      .sort((a, b) => a.word.localeCompare(b.word))
      .slice(0, 25);
    // Choice names are at most 100 characters; the value (the word, ≤ 64) is what comes back.
    await interaction.respond(entries.map((e) => ({ name: cut(`${e.word} → ${e.say}`, 100), value: e.word })));
  },
};

/** Same form as the engine matches: NFC, single spaces, trimmed. */
function normalizeWord(text: string): string {
  return text.normalize('NFC').replace(/\s+/gu, ' ').trim();
}

function sameWord(a: string, b: string): boolean {
  return normalizeWord(a).toLowerCase() === normalizeWord(b).toLowerCase();
}

/**
 * One entry checked against the dictionary's limits and normalized as it is stored. The same rules as the engine's
 * `validateDictionaryEntry` (services/text) and the same error codes, so the texts in messages.ts cover both.
 */
export function checkEntry(entry: DictionaryEntry): DictionaryEntry {
  const word = normalizeWord(entry.word);
  const say = normalizeWord(entry.say);
  if (!hasSpeakable(word)) throw new NarratorError('user', 'dictionary_word_invalid', 'The word must contain at least one letter or digit.');
  if ([...word].length > DICTIONARY_MAX_WORD) {
    throw new NarratorError('user', 'dictionary_word_too_long', `The word is too long: the limit is ${DICTIONARY_MAX_WORD}.`);
  }
  if (!hasSpeakable(say)) throw new NarratorError('user', 'dictionary_say_invalid', 'The pronunciation must contain at least one letter or digit.');
  if ([...say].length > DICTIONARY_MAX_SAY) {
    throw new NarratorError('user', 'dictionary_say_too_long', `The pronunciation is too long: the limit is ${DICTIONARY_MAX_SAY}.`);
  }
  return { word, say };
}

/** The list in one message when it fits; otherwise as many rows as fit and the whole list attached as text. */
export function renderDictionary(t: Texts, entries: readonly DictionaryEntry[]): StorageReply {
  if (entries.length === 0) return { content: t.dictionaryEmpty() };
  const sorted = [...entries].sort((a, b) => a.word.localeCompare(b.word));
  const title = t.dictionaryTitle({ count: sorted.length, max: DICTIONARY_MAX_ENTRIES });
  const rows = sorted.map((e) => `• \`${inlineCodeSafe(e.word)}\` → \`${inlineCodeSafe(e.say)}\``);
  const whole = [title, ...rows].join('\n');
  if (whole.length <= MESSAGE_LIMIT) return { content: whole };
  // Leave room for the "…and N more" line (N has at most 3 digits).
  const room = MESSAGE_LIMIT - t.dictionaryMore({ more: 999 }).length - 1;
  let content = title;
  let shown = 0;
  for (const row of rows) {
    if (content.length + 1 + row.length > room) break;
    content += `\n${row}`;
    shown++;
  }
  content += `\n${t.dictionaryMore({ more: rows.length - shown })}`;
  const file = sorted.map((e) => `${e.word} → ${e.say}`).join('\n') + '\n';
  return { content, files: [{ attachment: Buffer.from(file, 'utf8'), name: 'dictionary.txt' }] };
}

function cut(text: string, max: number): string {
  const chars = [...text];
  return chars.length <= max ? text : `${chars.slice(0, max - 1).join('')}…`;
}
