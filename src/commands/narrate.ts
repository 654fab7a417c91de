/**
 * `/narrate text|file voice speed output` — read a text, or a text file, aloud in the caller's voice channel (or as
 * a file / voice message) and post the audio.
 *
 * This module is about the command's options only: exactly one of `text` and `file` (Discord cannot require one of
 * two, so both are optional there and the handler refuses neither-or-both first), the voice with its autocomplete,
 * the speed, the output. Where the text comes from is a NarrationInput — the option's text, or the attachment
 * downloaded and decoded during the async phase with the file limit (fileInput.ts) — and everything after that,
 * from the voice checks to the final reply, is the flow every way in shares (narrationFlow.ts).
 */
import type { ChatInputCommandInteraction } from 'discord.js';
import { SPEED_MAX, SPEED_MIN } from '../services/config.js';
import { described, langOf, texts, VI_NAMES } from '../messages.js';
import { MAX_TEXT_CHARS } from './admission.js';
import { autocompleteVoice, guildCommand, replyEphemeral } from './common.js';
import { fileQuote, loadAttachmentText } from './fileInput.js';
import { runNarration, type NarrationInput } from './narrationFlow.js';
import { OUTPUTS } from './narrateOutput.js';
import type { Command, CommandContext } from './types.js';

const text = described('optTextOrFileDescription');
const file = described('optFileDescription');
const voice = described('optVoiceDescription');
const speed = described('optSpeedDescription');
const output = described('optOutputDescription');
const OUTPUT_NAMES = { voice: 'outputChoiceVoice', file: 'outputChoiceFile', voice_message: 'outputChoiceVoiceMessage' } as const;

export const narrate: Command = {
  // Guild-only: voice channels exist only in servers.
  data: guildCommand('narrate', 'cmdNarrateDescription')
    .addStringOption((o) =>
      o
        .setName('text')
        .setNameLocalizations({ vi: VI_NAMES.text })
        .setDescription(text.description)
        .setDescriptionLocalizations(text.localizations)
        .setMaxLength(MAX_TEXT_CHARS),
    )
    .addAttachmentOption((o) =>
      o
        .setName('file')
        .setNameLocalizations({ vi: VI_NAMES.file })
        .setDescription(file.description)
        .setDescriptionLocalizations(file.localizations),
    )
    .addStringOption((o) =>
      o
        .setName('voice')
        .setNameLocalizations({ vi: VI_NAMES.voice })
        .setDescription(voice.description)
        .setDescriptionLocalizations(voice.localizations)
        .setAutocomplete(true),
    )
    .addNumberOption((o) =>
      o
        .setName('speed')
        .setNameLocalizations({ vi: VI_NAMES.speed })
        .setDescription(speed.description)
        .setDescriptionLocalizations(speed.localizations)
        .setMinValue(SPEED_MIN)
        .setMaxValue(SPEED_MAX),
    )
    .addStringOption((o) =>
      o
        .setName('output')
        .setNameLocalizations({ vi: VI_NAMES.output })
        .setDescription(output.description)
        .setDescriptionLocalizations(output.localizations)
        .addChoices(
          OUTPUTS.map((value) => {
            const name = described(OUTPUT_NAMES[value]);
            return { name: name.description, name_localizations: name.localizations, value };
          }),
        ),
    ),

  async execute(interaction: ChatInputCommandInteraction, ctx: CommandContext): Promise<void> {
    const lang = langOf(interaction.locale);
    const t = texts(lang);
    const text = interaction.options.getString('text');
    const file = interaction.options.getAttachment('file');
    // Discord cannot require "one of two" options: both are optional there, and checked here first.
    if (text !== null && file !== null) return replyEphemeral(interaction, t.narrateTextAndFile());
    if (text === null && file === null) return replyEphemeral(interaction, t.narrateNoInput());
    const input: NarrationInput = file
      ? { load: () => loadAttachmentText(ctx, file), defaultMaxChars: ctx.config.maxFileChars, quote: fileQuote(lang, file) }
      : { load: () => Promise.resolve(text ?? '') };
    return runNarration(interaction, ctx, input, {
      voice: interaction.options.getString('voice') ?? undefined,
      speed: interaction.options.getNumber('speed') ?? undefined,
      output: interaction.options.getString('output'),
    });
  },

  autocomplete: autocompleteVoice,
};
