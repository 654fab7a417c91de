/**
 * The new ways in at the handler level (issue 11): `/narrate` refuses neither-text-nor-file and both, at once and
 * privately, before any check or job; the "Narrate" message command refuses a message with nothing to read; and
 * every reason a file is refused has its own clear text, in English and Vietnamese, naming the problem.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { Collection, MessageFlags, type ChatInputCommandInteraction, type MessageContextMenuCommandInteraction } from 'discord.js';
import { loadConfig } from '../src/services/config.js';
import type { CommandContext } from '../src/commands/types.js';
import { narrate } from '../src/commands/narrate.js';
import { narrateMessage } from '../src/commands/narrateMessage.js';
import { errorText, fileProblemText } from '../src/messages.js';
import { TextFileError, type TextFileProblem } from '../src/services/input/textFile.js';

interface Answer {
  readonly kind: string;
  readonly payload: { content?: string; flags?: number };
}

/** A context that fails the test if the handler goes past its input checks (no orchestrator, no playback). */
function strictContext(): CommandContext {
  const fail = () => assert.fail('the handler went past its input checks');
  return new Proxy({ config: loadConfig({ CACHE_MAX_MB: '0' }) } as unknown as CommandContext, {
    get: (target, key) => (key === 'config' ? target.config : key === 'then' ? undefined : fail()),
  });
}

function answers(): { list: Answer[]; record: (kind: string) => (payload: Answer['payload']) => Promise<void> } {
  const list: Answer[] = [];
  return { list, record: (kind) => async (payload) => void list.push({ kind, payload }) };
}

function slash(options: { text?: string; file?: { name: string; url: string; size: number } }, locale = 'en-US') {
  const a = answers();
  const interaction = {
    locale,
    options: {
      getString: (name: string) => (name === 'text' ? (options.text ?? null) : null),
      getNumber: () => null,
      getAttachment: (name: string) => (name === 'file' ? (options.file ?? null) : null),
    },
    reply: a.record('reply'),
    deferReply: a.record('deferReply'),
  };
  return { interaction: interaction as unknown as ChatInputCommandInteraction, list: a.list };
}

describe('/narrate text or file', () => {
  const file = { name: 'a.txt', url: 'https://cdn.discordapp.com/attachments/1/2/a.txt', size: 10 };
  for (const [what, options, expected] of [
    ['neither', {}, /^Give a `text` to read, or attach a `file` \(\.txt, \.md, \.srt or \.vtt\)\.$/],
    ['both', { text: 'Xin chào', file }, /^Give either `text` or `file`, not both\.$/],
  ] as const) {
    test(`${what}: refused at once, privately, before any other check`, async () => {
      const { interaction, list } = slash(options);
      await narrate.execute(interaction, strictContext());
      assert.equal(list.length, 1);
      assert.equal(list[0]!.kind, 'reply');
      assert.match(list[0]!.payload.content ?? '', expected);
      assert.equal((list[0]!.payload.flags ?? 0) & MessageFlags.Ephemeral, MessageFlags.Ephemeral);
    });
  }

  test('in Vietnamese', async () => {
    const { interaction, list } = slash({}, 'vi');
    await narrate.execute(interaction, strictContext());
    assert.match(list[0]!.payload.content ?? '', /^Hãy đưa một `văn-bản` để đọc/);
  });
});

describe('"Narrate" on a message with nothing to read', () => {
  for (const [what, attachments] of [
    ['no content, no file', []],
    ['only a picture and a subtitle file', [{ name: 'a.png' }, { name: 'film.srt' }]],
  ] as const) {
    test(`${what}: refused at once, privately`, async () => {
      const a = answers();
      const interaction = {
        locale: 'en-US',
        targetMessage: { content: '  ', url: 'https://discord.com/channels/1/2/3', attachments: new Collection(attachments.map((x, i) => [String(i), x])) },
        reply: a.record('reply'),
      } as unknown as MessageContextMenuCommandInteraction;
      await narrateMessage.execute(interaction, strictContext());
      assert.equal(a.list.length, 1);
      assert.match(a.list[0]!.payload.content ?? '', /^That message has nothing I can read aloud: no text, and no \.txt or \.md attachment\.$/);
      assert.equal((a.list[0]!.payload.flags ?? 0) & MessageFlags.Ephemeral, MessageFlags.Ephemeral);
    });
  }
});

describe('what a refused file is told, for every reason', () => {
  const cases: [TextFileProblem, RegExp, RegExp][] = [
    [{ kind: 'extension', extension: '.docx' }, /^I can read \.txt \.md \.srt \.vtt files, not `\.docx`\./, /^Mình đọc được tệp \.txt \.md \.srt \.vtt, không đọc được `\.docx`/],
    [{ kind: 'extension', extension: '' }, /^I can read \.txt \.md \.srt \.vtt files\. Save/, /^Mình đọc được tệp \.txt \.md \.srt \.vtt\. /],
    [{ kind: 'binary', format: 'png' }, /^This file is a PNG image, not text\./, /^Tệp này là một ảnh PNG, không phải văn bản\./],
    [{ kind: 'binary', format: 'zip' }, /^This file is a ZIP archive \(a \.docx is one too\), not text\./, /ZIP/],
    [{ kind: 'binary', format: 'pdf' }, /^This file is a PDF document, not text\./, /PDF/],
    [{ kind: 'binary' }, /^This file holds binary data, not text\./, /^Tệp này chứa dữ liệu nhị phân/],
    [{ kind: 'encoding' }, /^This file is not UTF-8 or UTF-16 text\. Save it as UTF-8/, /^Tệp này không phải văn bản UTF-8 hay UTF-16/],
    [{ kind: 'too_large', limitBytes: 1024 * 1024, sizeBytes: 2 * 1024 * 1024 }, /^This file is too large \(2 MiB\): I read files up to 1 MiB\./, /^Tệp quá lớn \(2 MiB\): mình chỉ đọc tệp tối đa 1 MiB\./],
    [{ kind: 'too_large', limitBytes: 64 * 1024 }, /^This file is too large: I read files up to 64 KiB\./, /^Tệp quá lớn: /],
    [{ kind: 'empty' }, /^This file has no text to read\.$/, /^Tệp này không có chữ nào để đọc\.$/],
    [{ kind: 'download_failed', status: 404 }, /^I could not download the file from Discord\./, /^Mình không tải được tệp/],
    [{ kind: 'download_timeout' }, /^Downloading the file took too long\./, /^Tải tệp quá lâu\./],
    [{ kind: 'source' }, /^I only read files attached on Discord\.$/, /^Mình chỉ đọc tệp được đính kèm trên Discord\.$/],
  ];
  for (const [problem, en, vi] of cases) {
    test(`${problem.kind}${'format' in problem && problem.format ? ` (${problem.format})` : ''}`, () => {
      assert.match(fileProblemText('en', problem), en);
      assert.match(fileProblemText('vi', problem), vi);
      // The error the input throws reads the same through the one error → text mapping.
      assert.equal(errorText('en', new TextFileError(problem)), fileProblemText('en', problem));
    });
  }
});
