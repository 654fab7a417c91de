/**
 * The command definitions Discord receives (scripts/deploy-commands.ts PUTs exactly this JSON): valid names in
 * both languages (options and subcommands too), descriptions within Discord's limits, the /narrate options and their
 * bounds, the settings commands' permissions and options, and the voice autocomplete choices.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { ApplicationCommandOptionType, ApplicationCommandType, PermissionFlagsBits } from 'discord.js';
import { commandDefinitions, commands, findCommand, messageCommands } from '../src/commands/index.js';
import { voiceChoices } from '../src/commands/common.js';

/** Discord's rule for command and option names (lowercase where the script has case). */
const NAME = /^[-_'\p{L}\p{N}\p{sc=Deva}\p{sc=Thai}]{1,32}$/u;

/** A command, subcommand or option as far as names and descriptions go. */
interface Named {
  readonly name: string;
  readonly name_localizations?: { readonly vi?: string } | null;
  readonly description: string;
  readonly description_localizations?: { readonly vi?: string } | null;
  readonly options?: readonly Named[];
}

describe('command definitions', () => {
  const json = commands.map((c) => c.data.toJSON());

  test('the thirteen commands, each with a Vietnamese name and description — subcommands and options too', () => {
    assert.deepEqual(json.map((c) => c.name).sort(), [
      'dictionary',
      'leave',
      'narrate',
      'pause',
      'queue',
      'resume',
      'settings',
      'skip',
      'status',
      'stop',
      'usage',
      'voice',
      'voices',
    ]);
    const check = (c: Named, where: string) => {
      for (const name of [c.name, c.name_localizations?.vi]) {
        assert.ok(name && NAME.test(name) && name === name.toLowerCase(), `valid name ${name} (${where})`);
      }
      for (const d of [c.description, c.description_localizations?.vi]) {
        assert.ok(d && d.length >= 1 && d.length <= 100, `description ${d} (${where})`);
      }
      assert.notEqual(c.description, c.description_localizations?.vi, `translated (${where})`);
      const viOptions = (c.options ?? []).map((o) => o.name_localizations?.vi);
      assert.equal(new Set(viOptions).size, viOptions.length, `unique Vietnamese option names (${where})`);
      for (const o of c.options ?? []) check(o, `${where} ${o.name}`);
    };
    for (const c of json) check(c as unknown as Named, c.name);
    // Names in one language are unique per level (Discord refuses duplicates, localized ones too).
    const vi = json.map((c) => c.name_localizations?.vi);
    assert.equal(new Set(vi).size, vi.length);
  });

  test('/settings: Manage Server by default, guild only, the subcommands and the limits’ bounds', () => {
    const settings = json.find((c) => c.name === 'settings')!;
    assert.equal(settings.default_member_permissions, String(PermissionFlagsBits.ManageGuild));
    assert.deepEqual(settings.contexts, [0]);
    const subs = settings.options as unknown as Named[];
    assert.deepEqual(subs.map((s) => s.name), ['show', 'voice', 'speed', 'limits', 'role', 'alias', 'reset']);
    const limits = subs.find((s) => s.name === 'limits')!.options as unknown as Record<string, unknown>[];
    assert.deepEqual(
      limits.map((o) => [o.name, o.type, o.required ?? false, o.min_value, o.max_value]),
      [
        ['max_chars', ApplicationCommandOptionType.Integer, false, 0, 6000],
        ['daily_chars', ApplicationCommandOptionType.Integer, false, 0, 100_000_000],
        ['user_daily_chars', ApplicationCommandOptionType.Integer, false, 0, 100_000_000],
        ['cooldown', ApplicationCommandOptionType.Integer, false, 0, 86_400],
      ],
    );
    const speed = (subs.find((s) => s.name === 'speed')!.options as unknown as Record<string, unknown>[])[0]!;
    assert.deepEqual([speed.min_value, speed.max_value], [0.5, 2]);
    const role = (subs.find((s) => s.name === 'role')!.options as unknown as Record<string, unknown>[])[0]!;
    assert.deepEqual([role.type, role.required ?? false], [ApplicationCommandOptionType.Role, false]);
    const alias = subs.find((s) => s.name === 'alias')!.options as unknown as Record<string, unknown>[];
    assert.deepEqual(alias.map((o) => [o.name, o.required ?? false, o.autocomplete]), [
      ['name', true, true],
      ['voice', false, true],
    ]);
  });

  test('/voice, /usage, /dictionary: visible to everyone (their admin parts check at run time), guild only', () => {
    for (const name of ['voice', 'usage', 'dictionary']) {
      const c = json.find((x) => x.name === name)!;
      assert.equal(c.default_member_permissions, undefined, name);
      assert.deepEqual(c.contexts, [0], name);
    }
    const sub = (command: string) => (json.find((c) => c.name === command)!.options as unknown as Named[]).map((s) => s.name);
    assert.deepEqual(sub('voice'), ['set', 'show', 'reset']);
    assert.deepEqual(sub('usage'), ['server', 'me']);
    assert.deepEqual(sub('dictionary'), ['add', 'remove', 'list']);
    const add = (json.find((c) => c.name === 'dictionary')!.options as unknown as Named[])[0]!.options as unknown as Record<string, unknown>[];
    assert.deepEqual(add.map((o) => [o.name, o.required, o.max_length]), [
      ['word', true, 64],
      ['say', true, 200],
    ]);
  });

  test('/narrate: optional text up to 6000 characters or a file (one of the two, checked at run time), voice with autocomplete, speed 0.5–2.0, guild only', () => {
    const narrate = json.find((c) => c.name === 'narrate')!;
    assert.deepEqual(narrate.contexts, [0]);
    const [text, file, voice, speed] = narrate.options as unknown as Record<string, unknown>[];
    assert.equal(text!.name, 'text');
    assert.equal(text!.required, false);
    assert.equal(text!.max_length, 6000);
    assert.equal(file!.name, 'file');
    assert.equal(file!.type, ApplicationCommandOptionType.Attachment);
    assert.equal(file!.required, false);
    assert.equal(voice!.name, 'voice');
    assert.equal(voice!.autocomplete, true);
    assert.equal(speed!.name, 'speed');
    assert.equal(speed!.min_value, 0.5);
    assert.equal(speed!.max_value, 2);
    for (const o of [text, file, voice, speed]) {
      assert.ok(NAME.test(String((o!.name_localizations as { vi: string }).vi)));
    }
  });

  test('the "Narrate" message command: type 3, named in English and Vietnamese, guild only, no description', () => {
    const definitions = commandDefinitions();
    assert.equal(definitions.length, commands.length + messageCommands.length);
    const [menu] = messageCommands.map((c) => c.data.toJSON());
    assert.equal(menu!.type, ApplicationCommandType.Message);
    assert.equal(menu!.name, 'Narrate');
    assert.deepEqual(menu!.name_localizations, { vi: 'Đọc to' });
    assert.deepEqual(menu!.contexts, [0]);
    assert.ok(!('description' in menu!) || !menu!.description);
    // Context-menu names may have capitals and spaces, 1–32 characters.
    for (const name of [menu!.name, menu!.name_localizations!.vi!]) assert.ok(name.length >= 1 && name.length <= 32);
  });

  test('findCommand looks commands up by name', () => {
    assert.equal(findCommand('skip')?.data.name, 'skip');
    assert.equal(findCommand('nope'), undefined);
  });
});

describe('voiceChoices', () => {
  const voices = ['narrator', 'female', 'male', 'news_anchor', ...Array.from({ length: 40 }, (_, i) => `voice${i}`)];

  test('prefix matches first, then inner matches, case-insensitive, the default marked', () => {
    assert.deepEqual(voiceChoices(voices, 'male', 'MA'), [{ name: 'male ★', value: 'male' }, { name: 'female', value: 'female' }]);
    assert.deepEqual(voiceChoices(voices, 'narrator', 'anch').map((c) => c.value), ['news_anchor']);
    assert.deepEqual(voiceChoices(voices, 'narrator', 'zzz'), []);
  });

  test('at most 25 choices, each name at most 100 characters', () => {
    const all = voiceChoices(voices, 'narrator', '');
    assert.equal(all.length, 25);
    assert.equal(all[0]!.name, 'narrator ★');
    assert.ok(all.every((c) => c.name.length <= 100 && c.value.length <= 100));
  });
});
