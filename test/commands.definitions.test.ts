/**
 * The command definitions Discord receives (scripts/deploy-commands.ts PUTs exactly this JSON): valid names in
 * both languages, descriptions within Discord's limits, the /narrate options and their bounds, and the voice
 * autocomplete choices.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { commands, findCommand } from '../src/commands/index.js';
import { voiceChoices } from '../src/commands/narrate.js';

/** Discord's rule for command and option names (lowercase where the script has case). */
const NAME = /^[-_'\p{L}\p{N}\p{sc=Deva}\p{sc=Thai}]{1,32}$/u;

describe('command definitions', () => {
  const json = commands.map((c) => c.data.toJSON());

  test('the eight commands, each with a Vietnamese name and description', () => {
    assert.deepEqual(json.map((c) => c.name).sort(), ['leave', 'narrate', 'pause', 'queue', 'resume', 'skip', 'stop', 'voices']);
    for (const c of json) {
      for (const name of [c.name, c.name_localizations?.vi]) {
        assert.ok(name && NAME.test(name) && name === name.toLowerCase(), `valid name ${name}`);
      }
      for (const d of [c.description, c.description_localizations?.vi]) {
        assert.ok(d && d.length >= 1 && d.length <= 100, `description ${d}`);
      }
      assert.notEqual(c.description, c.description_localizations?.vi);
    }
  });

  test('/narrate: required text up to 6000 characters, voice with autocomplete, speed 0.5–2.0, guild only', () => {
    const narrate = json.find((c) => c.name === 'narrate')!;
    assert.deepEqual(narrate.contexts, [0]);
    const [text, voice, speed] = narrate.options as unknown as Record<string, unknown>[];
    assert.equal(text!.name, 'text');
    assert.equal(text!.required, true);
    assert.equal(text!.max_length, 6000);
    assert.equal(voice!.name, 'voice');
    assert.equal(voice!.autocomplete, true);
    assert.equal(speed!.name, 'speed');
    assert.equal(speed!.min_value, 0.5);
    assert.equal(speed!.max_value, 2);
    for (const o of [text, voice, speed]) {
      assert.ok(NAME.test(String((o!.name_localizations as { vi: string }).vi)));
    }
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
