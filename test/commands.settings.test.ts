/**
 * `/settings` and `/voice` against a real SQLite Storage (in memory): what an admin or a member reads, in English and
 * Vietnamese, and what the database holds afterwards — including that a limit written by `/settings limits` is the
 * one `storage.reserve` then enforces. A member without Manage Server is refused and changes nothing, a missing or
 * vanished database gives a clear private message, and every answer is ephemeral with mentions that never ping.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { loadConfig } from '../src/services/config.js';
import { openStorage, type Storage } from '../src/services/storage/index.js';
import type { CommandContext } from '../src/commands/types.js';
import { settings } from '../src/commands/settings.js';
import { voice } from '../src/commands/voice.js';
import { autocompleteOf, invoke, isEphemeral, privateAnswer, type CommandInvocation } from './support/commandInteraction.js';

const config = loadConfig({ TTS_VOICES: 'narrator,female,male_north_2', DEFAULT_SPEED: '0.9', CACHE_MAX_MB: '0' });

function silentLogger(): CommandContext['logger'] {
  const noop = () => undefined;
  const logger = { info: noop, warn: noop, debug: noop, error: noop, trace: noop, fatal: noop, child: () => logger };
  return logger as unknown as CommandContext['logger'];
}

function contextWith(storage: Storage | undefined): CommandContext {
  return {
    config,
    storage,
    logger: silentLogger(),
    // Not used by these commands.
    orchestrator: undefined as never,
    backend: { kind: 'local' },
    playback: undefined as never,
    background: () => undefined,
  };
}

let guildCounter = 7000;
const newGuild = () => String(guildCounter++);

describe('/settings against SQLite', () => {
  let storage: Storage;
  let ctx: CommandContext;
  before(async () => {
    storage = await openStorage('sqlite::memory:');
    ctx = contextWith(storage);
  });
  after(() => storage.close());

  const admin = (guildId: string, subcommand: string, options: CommandInvocation['options'] = {}, locale = 'en-US') =>
    invoke({ guildId, subcommand, options, locale, manageServer: true });
  const run = async (inv: ReturnType<typeof invoke>) => {
    await settings.execute(inv.interaction, ctx);
    return privateAnswer(inv.answers).content;
  };

  test('show: every setting with its value and its default', async () => {
    const guildId = newGuild();
    const text = await run(admin(guildId, 'show'));
    assert.equal(
      text,
      [
        '**Server settings**',
        '• Voice: **narrator** (default: narrator)',
        '• Speed: **0.9** (default: 0.9)',
        '• Characters per narration: **6,000** (default: 6,000)',
        '• Characters a day, whole server: **unlimited** (default: unlimited)',
        '• Characters a day, each member: **unlimited** (default: unlimited)',
        '• Wait between two narrations: **none** (default: none)',
        '• Who may narrate: **everyone** (default: everyone)',
        '• Voice aliases: **none** (default: none)',
      ].join('\n'),
    );
  });

  test('voice, speed, limits, role and alias round-trip to the database and show up in /settings show', async () => {
    const guildId = newGuild();
    assert.equal(await run(admin(guildId, 'voice', { voice: 'female' })), '✅ The server’s default voice is now **female**.');
    assert.equal(await run(admin(guildId, 'speed', { speed: 1.25 })), '✅ The server’s default speed is now **1.25**.');
    const limits = await run(admin(guildId, 'limits', { max_chars: 2500, daily_chars: 300, user_daily_chars: 120, cooldown: 30 }));
    assert.match(limits, /^✅ Limits saved\.\n\*\*Limits\*\*\n/);
    assert.match(limits, /Characters a day, whole server: \*\*300\*\*/);
    assert.equal(await run(admin(guildId, 'role', { role: { id: '5555' } })), '✅ Only members with <@&5555> may narrate now.');
    assert.equal(await run(admin(guildId, 'alias', { name: '[Minh]', voice: 'male_north_2' })), '✅ `[minh]` now reads with the voice **male_north_2**.');

    assert.deepEqual(await storage.getSettings(guildId), {
      guildId,
      voice: 'female',
      speed: 1.25,
      maxChars: 2500,
      dailyChars: 300,
      userDailyChars: 120,
      cooldownSec: 30,
      roleId: '5555',
      aliases: { minh: 'male_north_2' },
    });
    const shown = await run(admin(guildId, 'show'));
    for (const line of [
      '• Voice: **female** (default: narrator)',
      '• Speed: **1.25** (default: 0.9)',
      '• Characters per narration: **2,500** (default: 6,000)',
      '• Characters a day, whole server: **300** (default: unlimited)',
      '• Characters a day, each member: **120** (default: unlimited)',
      '• Wait between two narrations: **30 s** (default: none)',
      '• Who may narrate: **<@&5555>** (default: everyone)',
      '• Voice aliases: **`[minh]` → male_north_2** (default: none)',
    ]) {
      assert.ok(shown.includes(line), `${line}\nin\n${shown}`);
    }
  });

  test('the daily limit written by /settings limits is the one reserve enforces', async () => {
    const guildId = newGuild();
    await run(admin(guildId, 'limits', { daily_chars: 300 }));
    const now = Date.UTC(2026, 11, 2, 12);
    const refused = await storage.reserve({ guildId, userId: '1', charsAsked: 391, charsToSynthesize: 391, chunks: 3, now });
    assert.equal(refused.ok, false);
    assert.equal(!refused.ok && refused.limit, 'daily_chars');
    const accepted = await storage.reserve({ guildId, userId: '1', charsAsked: 200, charsToSynthesize: 200, chunks: 2, now });
    assert.equal(accepted.ok, true);
  });

  test('leaving an option empty clears it back to the default; limits without options only show them', async () => {
    const guildId = newGuild();
    await run(admin(guildId, 'voice', { voice: 'female' }));
    await run(admin(guildId, 'speed', { speed: 1.5 }));
    await run(admin(guildId, 'role', { role: { id: '77' } }));
    await run(admin(guildId, 'limits', { max_chars: 1000, daily_chars: 5000 }));
    assert.equal(await run(admin(guildId, 'voice')), '✅ The server’s default voice is back to the bot default (**narrator**).');
    assert.equal(await run(admin(guildId, 'speed')), '✅ The server’s default speed is back to the bot default (**0.9**).');
    assert.equal(await run(admin(guildId, 'role')), '✅ Everyone may narrate again.');
    // max_chars 0 = the bot default; daily_chars 0 = unlimited; the others untouched.
    await run(admin(guildId, 'limits', { max_chars: 0, cooldown: 0 }));
    const s = await storage.getSettings(guildId);
    assert.equal(s.voice, undefined);
    assert.equal(s.speed, undefined);
    assert.equal(s.roleId, undefined);
    assert.equal(s.maxChars, undefined);
    assert.equal(s.dailyChars, 5000);
    const onlyShown = await run(admin(guildId, 'limits'));
    assert.match(onlyShown, /^\*\*Limits\*\*\n• Characters per narration: \*\*6,000\*\*/);
    assert.match(onlyShown, /whole server: \*\*5,000\*\*/);
  });

  test('@everyone as the role means everyone (clears the role)', async () => {
    const guildId = newGuild();
    await run(admin(guildId, 'role', { role: { id: '91' } }));
    assert.equal(await run(admin(guildId, 'role', { role: { id: guildId } })), '✅ Everyone may narrate again.');
    assert.equal((await storage.getSettings(guildId)).roleId, undefined);
  });

  test('aliases: removed with no voice, unknown ones and bad names refused clearly, unknown voices refused', async () => {
    const guildId = newGuild();
    await run(admin(guildId, 'alias', { name: 'lan', voice: 'female' }));
    assert.equal(await run(admin(guildId, 'alias', { name: 'bà-ba', voice: 'narrator' })), '✅ `[bà-ba]` now reads with the voice **narrator**.');
    assert.equal(await run(admin(guildId, 'alias', { name: 'LAN' })), '✅ Removed the alias `lan`.');
    assert.equal(await run(admin(guildId, 'alias', { name: 'lan' })), 'There is no alias `lan`.');
    assert.match(await run(admin(guildId, 'alias', { name: 'two words', voice: 'female' })), /^An alias is 1 to 32 letters, digits, - or _/);
    assert.equal(await run(admin(guildId, 'alias', { name: 'robot', voice: 'robot_voice' })), 'Unknown voice. Choose one of: narrator, female, male_north_2.');
    assert.deepEqual((await storage.getSettings(guildId)).aliases, { 'bà-ba': 'narrator' });
  });

  test('an unknown voice or an out-of-range speed is refused and nothing is stored', async () => {
    const guildId = newGuild();
    assert.equal(await run(admin(guildId, 'voice', { voice: 'robot' })), 'Unknown voice. Choose one of: narrator, female, male_north_2.');
    assert.equal(await run(admin(guildId, 'speed', { speed: 2.5 })), 'The speed must be between 0.5 and 2.');
    const s = await storage.getSettings(guildId);
    assert.equal(s.voice, undefined);
    assert.equal(s.speed, undefined);
  });

  test('reset: back to the defaults (aliases too), and says so with the settings', async () => {
    const guildId = newGuild();
    await run(admin(guildId, 'limits', { daily_chars: 300, cooldown: 10 }));
    await run(admin(guildId, 'alias', { name: 'minh', voice: 'male_north_2' }));
    const text = await run(admin(guildId, 'reset'));
    assert.match(text, /^✅ Every setting is back to its default\.\n\*\*Server settings\*\*\n/);
    assert.deepEqual(await storage.getSettings(guildId), { guildId, dailyChars: 0, userDailyChars: 0, cooldownSec: 0, aliases: {} });
  });

  test('Vietnamese: texts and numbers in the caller’s language', async () => {
    const guildId = newGuild();
    assert.equal((await run(admin(guildId, 'limits', { daily_chars: 12000 }, 'vi'))).split('\n')[0], '✅ Đã lưu giới hạn.');
    const shown = await run(admin(guildId, 'show', {}, 'vi'));
    assert.match(shown, /^\*\*Cài đặt của máy chủ\*\*\n/);
    assert.ok(shown.includes('• Số ký tự mỗi ngày, cả máy chủ: **12.000** (mặc định: không giới hạn)'), shown);
    assert.ok(shown.includes('• Tốc độ: **0,9** (mặc định: 0,9)'), shown);
  });

  test('a member without Manage Server is refused at once, privately, and nothing changes', async () => {
    const guildId = newGuild();
    await run(admin(guildId, 'limits', { daily_chars: 300 }));
    for (const [subcommand, options] of [
      ['limits', { daily_chars: 0 }],
      ['voice', { voice: 'female' }],
      ['reset', {}],
      ['show', {}],
      ['alias', { name: 'x', voice: 'female' }],
    ] as const) {
      for (const locale of ['en-US', 'vi']) {
        const inv = invoke({ guildId, subcommand, options, locale, manageServer: false });
        await settings.execute(inv.interaction, ctx);
        assert.equal(inv.answers.length, 1);
        assert.equal(inv.answers[0]!.kind, 'reply');
        assert.ok(isEphemeral(inv.answers[0]));
        assert.equal(
          inv.answers[0]!.payload.content,
          locale === 'vi'
            ? 'Chỉ thành viên có quyền **Quản lý máy chủ** (Manage Server) mới làm được việc này.'
            : 'Only members with the **Manage Server** permission can do this.',
        );
      }
    }
    const s = await storage.getSettings(guildId);
    assert.equal(s.dailyChars, 300);
    assert.equal(s.voice, undefined);
    assert.deepEqual(s.aliases, {});
  });

  test('autocomplete: voices from the allow-list; alias names (with their voice) only for admins', async () => {
    const guildId = newGuild();
    await run(admin(guildId, 'alias', { name: 'minh', voice: 'male_north_2' }));
    const voices = autocompleteOf({ guildId, focused: 'voice', value: 'fe', manageServer: true });
    await settings.autocomplete!(voices.interaction, ctx);
    assert.deepEqual(voices.choices(), [{ name: 'female', value: 'female' }]);
    const names = autocompleteOf({ guildId, focused: 'name', value: 'mi', manageServer: true });
    await settings.autocomplete!(names.interaction, ctx);
    assert.deepEqual(names.choices(), [{ name: 'minh → male_north_2', value: 'minh' }]);
    const outsider = autocompleteOf({ guildId, focused: 'name', value: '', manageServer: false });
    await settings.autocomplete!(outsider.interaction, ctx);
    assert.deepEqual(outsider.choices(), []);
  });
});

describe('/voice against SQLite', () => {
  let storage: Storage;
  let ctx: CommandContext;
  before(async () => {
    storage = await openStorage('sqlite::memory:');
    ctx = contextWith(storage);
  });
  after(() => storage.close());

  const member = (guildId: string, subcommand: string, options: CommandInvocation['options'] = {}, userId = '42', locale = 'en-US') =>
    invoke({ guildId, subcommand, options, userId, locale });
  const run = async (inv: ReturnType<typeof invoke>) => {
    await voice.execute(inv.interaction, ctx);
    return privateAnswer(inv.answers).content;
  };

  test('show follows member preference → server default → bot default, saying where each comes from', async () => {
    const guildId = newGuild();
    assert.equal(await run(member(guildId, 'show')), '**Your voice**\n• Voice: **narrator** (bot default)\n• Speed: **0.9** (bot default)');
    await storage.updateSettings(guildId, { voice: 'female', speed: 1.1 });
    assert.equal(await run(member(guildId, 'show')), '**Your voice**\n• Voice: **female** (server default)\n• Speed: **1.1** (server default)');
    assert.equal(
      await run(member(guildId, 'set', { voice: 'male_north_2', speed: 1.4 })),
      '✅ Your narrations now use the voice **male_north_2** at speed **1.4** when /narrate names none.',
    );
    assert.equal(await run(member(guildId, 'show')), '**Your voice**\n• Voice: **male_north_2** (your choice)\n• Speed: **1.4** (your choice)');
    // Another member of the same server is not affected.
    assert.match(await run(member(guildId, 'show', {}, '43')), /Voice: \*\*female\*\* \(server default\)/);
  });

  test('set without a speed keeps the speed chosen earlier; reset forgets both', async () => {
    const guildId = newGuild();
    await run(member(guildId, 'set', { voice: 'female', speed: 1.3 }));
    assert.equal(await run(member(guildId, 'set', { voice: 'narrator' })), '✅ Your narrations now use the voice **narrator** at speed **1.3** when /narrate names none.');
    assert.deepEqual(await storage.getMember(guildId, '42'), { voice: 'narrator', speed: 1.3 });
    assert.equal(await run(member(guildId, 'reset')), '✅ Forgot your voice and speed: the server’s defaults apply again.');
    assert.equal(await storage.getMember(guildId, '42'), undefined);
  });

  test('an unknown voice is refused and nothing is stored; Vietnamese replies', async () => {
    const guildId = newGuild();
    assert.equal(await run(member(guildId, 'set', { voice: 'robot' }, '42', 'vi')), 'Không có giọng này. Hãy chọn một trong: narrator, female, male_north_2.');
    assert.equal(await storage.getMember(guildId, '42'), undefined);
    assert.equal(
      await run(member(guildId, 'set', { voice: 'female', speed: 0.75 }, '42', 'vi')),
      '✅ Khi /narrate không ghi giọng, bài của bạn sẽ đọc bằng giọng **female** với tốc độ **0,75**.',
    );
  });
});

describe('without a working database', () => {
  test('no storage configured: "settings are not available", privately, for /settings and /voice', async () => {
    const ctx = contextWith(undefined);
    const a = invoke({ subcommand: 'show', manageServer: true });
    await settings.execute(a.interaction, ctx);
    assert.equal(privateAnswer(a.answers).content, 'Settings are not available: this bot runs without a database.');
    const b = invoke({ subcommand: 'show', locale: 'vi' });
    await voice.execute(b.interaction, ctx);
    assert.equal(privateAnswer(b.answers).content, 'Không có cài đặt: bot này đang chạy không có cơ sở dữ liệu.');
  });

  test('a database that went away (storage_unavailable): a clear private message, not a crash', async () => {
    const storage = await openStorage('sqlite::memory:');
    await storage.close();
    const ctx = contextWith(storage);
    for (const [command, subcommand, options] of [
      [settings, 'limits', { daily_chars: 300 }],
      [settings, 'show', {}],
      [voice, 'set', { voice: 'female' }],
      [voice, 'show', {}],
    ] as const) {
      const inv = invoke({ subcommand, options, manageServer: true });
      await command.execute(inv.interaction, ctx);
      assert.equal(
        privateAnswer(inv.answers).content,
        'The settings database is not reachable right now, so I cannot do this. Try again in a minute.',
      );
    }
  });
});
