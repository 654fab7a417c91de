/**
 * A Discord attachment as a NarrationInput: its text is downloaded and decoded in the narration's async phase
 * (services/input: bounded download, strict decoding, subtitles stripped), planned against the file limit
 * (MAX_FILE_CHARS unless the server set its own), and the reply quotes the file's name rather than its text.
 * Shared by `/narrate file:` and the "Narrate" message command.
 */
import type { Attachment } from 'discord.js';
import { attachmentOriginsFor, downloadAttachment } from '../services/input/download.js';
import { assertTextFileName, textFromFile } from '../services/input/textFile.js';
import { texts, type Lang } from '../messages.js';
import type { CommandContext } from './types.js';

/** Downloads and decodes an attachment's text; throws a TextFileError (a `user` error) for every refusal. */
export async function loadAttachmentText(ctx: CommandContext, attachment: Pick<Attachment, 'name' | 'url' | 'size'>): Promise<string> {
  // The name is checked before anything is downloaded: a .docx is refused without a request.
  assertTextFileName(attachment.name);
  const bytes = await downloadAttachment({
    url: attachment.url,
    declaredSize: attachment.size,
    maxBytes: ctx.config.maxFileBytes,
    extraOrigins: attachmentOriginsFor(ctx.config.discord.apiBaseUrl),
  });
  return textFromFile(attachment.name, bytes);
}

/** What the reply quotes for a file: its name. */
export function fileQuote(lang: Lang, attachment: Pick<Attachment, 'name'>): string {
  return texts(lang).fileQuote({ name: attachment.name });
}
