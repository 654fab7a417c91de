/**
 * `/dictionary add | remove | list` against a real SQLite Storage: entries round-trip (case-insensitive, a second add
 * of the same word changes it), the limits refuse clearly in both languages, admin-typed text cannot escape its code
 * span, a list longer than one message comes with the whole list attached, changing needs Manage Server while
 * listing does not, and a vanished database gives a clear private message.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { loadConfig } from '../src/services/config.js';
import { openStorage, type Storage } from '../src/services/storage/index.js';
import type { CommandContext } from '../src/commands/types.js';
import { dictionary, DICTIONARY_MAX_ENTRIES } from '../src/commands/dictionary.js';
import { autocompleteOf, invoke, isEphemeral, privateAnswer, type CommandInvocation } from './support/commandInteraction.js';

const config = loadConfig({ TTS_VOICES: 'narrator', CACHE_MAX_MB: '0' });

function contextWith(storage: Storage | undefined): CommandContext {
  const noop = () => undefined;
  const logger = { info: noop, warn: noop, debug: noop, error: noop, trace: noop, fatal: noop, child: () => logger };
  return {
    config,
    storage,
    logger: logger as unknown as CommandContext['logger'],
    orchestrator: undefined as never,
    backend: { kind: 'local' },
    playback: undefined as never,
    background: () => undefined,
  };
}

let guildCounter = 8300;
const newGuild = () => String(guildCounter++);

describe('/dictionary against SQLite', () => {
  let storage: Storage;
  let ctx: CommandContext;
  before(async () => {
    storage = await openStorage('sqlite::memory:');
    ctx = contextWith(storage);
  });
  after(() => storage.close());

  const call = async (o: CommandInvocation) => {
    const inv = invoke(o);
    await dictionary.execute(inv.interaction, ctx);
    return inv;
  };
  const admin = async (guildId: string, subcommand: string, options: CommandInvocation['options'] = {}, locale = 'en-US') =>
    privateAnswer((await call({ guildId, subcommand, options, locale, manageServer: true })).answers);

  test('add, change, list and remove round-trip; words match case-insensitively', async () => {
    const guildId = newGuild();
    assert.equal((await admin(guildId, 'list')).content, 'The dictionary is empty. An admin can add a word with `/dictionary add`.');
    assert.equal(
      (await admin(guildId, 'add', { word: '  TP.HCM ', say: 'Thành phố   Hồ Chí Minh' })).content,
      '✅ `TP.HCM` is now read as `Thành phố Hồ Chí Minh`.',
    );
    assert.equal((await admin(guildId, 'add', { word: 'ae', say: 'anh em' })).content, '✅ `ae` is now read as `anh em`.');
    assert.equal((await admin(guildId, 'add', { word: 'tp.hcm', say: 'Sài Gòn' })).content, '✅ `tp.hcm` is now read as `Sài Gòn` (changed).');
    assert.deepEqual(
      (await storage.listDictionary(guildId)).map((e) => e.say).sort(),
      ['Sài Gòn', 'anh em'],
      'the second add replaced the first (one entry per word, whatever the case)',
    );
    assert.equal((await admin(guildId, 'list')).content, '**Pronunciation dictionary** (2/200):\n• `ae` → `anh em`\n• `tp.hcm` → `Sài Gòn`');
    assert.equal((await admin(guildId, 'remove', { word: 'AE' })).content, '✅ Removed `AE` from the dictionary.');
    assert.equal((await admin(guildId, 'remove', { word: 'ae' })).content, '`ae` is not in the dictionary.');
    assert.equal((await storage.listDictionary(guildId)).length, 1);
  });

  test('bad entries are refused with what is wrong, in English and Vietnamese, and nothing is stored', async () => {
    const guildId = newGuild();
    const cases: [Record<string, string>, string, string][] = [
      [{ word: '...', say: 'chấm' }, 'The word must contain at least one letter or digit', 'Từ phải có ít nhất một chữ cái hoặc chữ số'],
      [{ word: 'x'.repeat(65), say: 'x' }, 'The word is too long: at most 64 characters.', 'Từ quá dài: tối đa 64 ký tự.'],
      [{ word: 'lol', say: '😂 😂' }, 'Say how the word is read with at least one letter or digit', 'Cách đọc phải có ít nhất một chữ cái hoặc chữ số'],
      [{ word: 'lol', say: 'a'.repeat(201) }, 'What to say is too long: at most 200 characters.', 'Cách đọc quá dài: tối đa 200 ký tự.'],
    ];
    for (const [options, en, vi] of cases) {
      assert.ok((await admin(guildId, 'add', options)).content.startsWith(en), en);
      assert.ok((await admin(guildId, 'add', options, 'vi')).content.startsWith(vi), vi);
    }
    assert.deepEqual(await storage.listDictionary(guildId), []);
  });

  test('full at 200 words: a new word is refused, changing an existing one still works', async () => {
    const guildId = newGuild();
    for (let i = 0; i < DICTIONARY_MAX_ENTRIES; i++) await storage.addDictionary(guildId, { word: `w${i}`, say: `từ ${i}` });
    assert.equal((await admin(guildId, 'add', { word: 'one-more', say: 'thêm' })).content, 'The dictionary is full (200 words). Remove one first.');
    assert.equal((await admin(guildId, 'add', { word: 'w7', say: 'bảy' })).content, '✅ `w7` is now read as `bảy` (changed).');
    assert.equal((await storage.listDictionary(guildId)).length, DICTIONARY_MAX_ENTRIES);
  });

  test('a long list: as many rows as fit in one message, the whole list attached', async () => {
    const guildId = newGuild();
    for (let i = 0; i < 120; i++) await storage.addDictionary(guildId, { word: `word${String(i).padStart(3, '0')}`, say: `cách đọc thứ ${i} của từ này` });
    const answer = await admin(guildId, 'list');
    assert.ok(answer.content.length <= 2000);
    const shownRows = answer.content.split('\n').filter((l) => l.startsWith('• '));
    assert.ok(shownRows.length > 10 && shownRows.length < 120);
    assert.ok(answer.content.endsWith(`…and ${120 - shownRows.length} more: the whole list is attached.`), answer.content.slice(-120));
    const file = answer.files?.[0];
    assert.equal(file?.name, 'dictionary.txt');
    const lines = file!.attachment.toString('utf8').trim().split('\n');
    assert.equal(lines.length, 120);
    assert.equal(lines[0], 'word000 → cách đọc thứ 0 của từ này');
  });

  test('admin-typed text stays inside its code span (backticks cannot close it)', async () => {
    const guildId = newGuild();
    const answer = await admin(guildId, 'add', { word: 'a`b', say: '`@everyone` **x**' });
    assert.equal(answer.content, '✅ `aˋb` is now read as `ˋ@everyoneˋ **x**`.');
    assert.deepEqual(answer.allowedMentions, { parse: [] });
  });

  test('listing is for anyone; adding and removing need Manage Server (refused at once, nothing changes)', async () => {
    const guildId = newGuild();
    await storage.addDictionary(guildId, { word: 'ae', say: 'anh em' });
    const list = await call({ guildId, subcommand: 'list', manageServer: false });
    assert.match(privateAnswer(list.answers).content, /^\*\*Pronunciation dictionary\*\* \(1\/200\):/);
    for (const [subcommand, options] of [
      ['add', { word: 'x', say: 'y' }],
      ['remove', { word: 'ae' }],
    ] as const) {
      const inv = await call({ guildId, subcommand, options, manageServer: false, locale: 'vi' });
      assert.equal(inv.answers.length, 1);
      assert.ok(isEphemeral(inv.answers[0]));
      assert.equal(inv.answers[0]!.payload.content, 'Chỉ thành viên có quyền **Quản lý máy chủ** (Manage Server) mới làm được việc này.');
    }
    assert.deepEqual(await storage.listDictionary(guildId), [{ word: 'ae', say: 'anh em' }]);
  });

  test('autocomplete for remove: the server’s words (admins only), at most 25', async () => {
    const guildId = newGuild();
    for (let i = 0; i < 30; i++) await storage.addDictionary(guildId, { word: `k${i}`, say: `ca ${i}` });
    await storage.addDictionary(guildId, { word: 'TP.HCM', say: 'Thành phố Hồ Chí Minh' });
    const all = autocompleteOf({ guildId, focused: 'word', value: '', manageServer: true });
    await dictionary.autocomplete!(all.interaction, ctx);
    assert.equal(all.choices()!.length, 25);
    const some = autocompleteOf({ guildId, focused: 'word', value: 'hcm', manageServer: true });
    await dictionary.autocomplete!(some.interaction, ctx);
    assert.deepEqual(some.choices(), [{ name: 'TP.HCM → Thành phố Hồ Chí Minh', value: 'TP.HCM' }]);
    const outsider = autocompleteOf({ guildId, focused: 'word', value: '', manageServer: false });
    await dictionary.autocomplete!(outsider.interaction, ctx);
    assert.deepEqual(outsider.choices(), []);
  });

  test('a database that went away: a clear private message', async () => {
    const gone = await openStorage('sqlite::memory:');
    await gone.close();
    const inv = invoke({ subcommand: 'list' });
    await dictionary.execute(inv.interaction, contextWith(gone));
    assert.equal(privateAnswer(inv.answers).content, 'The settings database is not reachable right now, so I cannot do this. Try again in a minute.');
  });
});
