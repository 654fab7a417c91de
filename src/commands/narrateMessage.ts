/**
 * "Narrate" on a message (Apps → Narrate; Vietnamese "Đọc to") — reads a message someone already posted: its
 * content, then the text of its `.txt`/`.md` attachment if it has one. The same flow as /narrate (narrationFlow.ts):
 * the caller's voice channel, the same queue, progress reply, audio attachment and limits, voice and speed from the
 * caller's preference or the server's default (a context-menu command has no options).
 *
 * The message comes with the interaction (Discord resolves it, content included, without the Message Content
 * intent), and so do the names of the users, roles and channels it mentions: those are used when the guild's cache
 * lacks one, so a mention is read as a name exactly as in /narrate. A message with no content and no readable
 * attachment is refused at once; a content that cleans to nothing (only emoji, only links) is refused by the plan,
 * as a typed text would be. The reply links to the message it reads, so everyone sees what is being read.
 */
import { ApplicationCommandType, ContextMenuCommandBuilder, InteractionContextType, type Message, type MessageContextMenuCommandInteraction } from 'discord.js';
import { textFileKind } from '../services/input/textFile.js';
import { described, langOf, texts } from '../messages.js';
import { MAX_TEXT_CHARS } from './admission.js';
import { replyEphemeral } from './common.js';
import { fileQuote, loadAttachmentText } from './fileInput.js';
import { runNarration } from './narrationFlow.js';
import type { CommandContext, MessageCommand } from './types.js';

const name = described('cmdNarrateMessageName');

export const narrateMessage: MessageCommand = {
  data: new ContextMenuCommandBuilder()
    .setName(name.description)
    .setNameLocalizations(name.localizations)
    .setType(ApplicationCommandType.Message)
    // Guild-only: voice channels exist only in servers.
    .setContexts(InteractionContextType.Guild),

  async execute(interaction: MessageContextMenuCommandInteraction, ctx: CommandContext): Promise<void> {
    const lang = langOf(interaction.locale);
    const t = texts(lang);
    const message = interaction.targetMessage;
    const content = message.content.trim();
    // Only plain text and markdown (kind `text`): subtitles attached to a chat message are rarely meant to be read aloud.
    const attachment = message.attachments.find((a) => textFileKind(a.name) === 'text');
    if (content === '' && !attachment) return replyEphemeral(interaction, t.messageNothingToRead());
    const quote = [content, attachment ? fileQuote(lang, attachment) : ''].filter(Boolean).join('\n');
    return runNarration(
      interaction,
      ctx,
      {
        load: async () => (attachment ? [content, await loadAttachmentText(ctx, attachment)].filter((s) => s.trim() !== '').join('\n\n') : content),
        defaultMaxChars: attachment ? ctx.config.maxFileChars : MAX_TEXT_CHARS,
        quote,
        sourceLink: t.messageLink({ url: message.url }),
        mentionNames: (kind, id) => mentionedName(message, kind, id),
      },
      { output: null, notInVoice: t.messageNotInVoice() },
    );
  },
};

/** A name the message's own mentions carry (resolved by Discord with the interaction). */
function mentionedName(message: Message, kind: 'user' | 'role' | 'channel', id: string): string | undefined {
  if (kind === 'user') return message.mentions.members?.get(id)?.displayName ?? message.mentions.users.get(id)?.displayName;
  if (kind === 'role') return message.mentions.roles.get(id)?.name;
  const channel = message.mentions.channels.get(id);
  return channel && 'name' in channel ? (channel.name ?? undefined) : undefined;
}
