/**
 * The storage-backed commands over the wire: a real discord.js client (in this process) against the fake Discord,
 * the registered definitions, and a real SQLite Storage. What the stand-in interactions of the other tests assume is
 * checked here against discord.js itself: Manage Server read from the member's permissions Discord sends, the
 * subcommand and typed options (a role resolved from the payload), ephemeral defer + edit with mentions that never
 * ping, autocomplete answered within the window, and `/settings` hidden from members without Manage Server.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { Client, GatewayIntentBits, MessageFlags, type Interaction } from 'discord.js';
import { InteractionResponseType } from 'discord-api-types/v10';
import { loadConfig } from '../src/services/config.js';
import { openStorage, type Storage } from '../src/services/storage/index.js';
import { commands, findCommand } from '../src/commands/index.js';
import type { CommandContext } from '../src/commands/types.js';
import { FakeDiscord, type Invocation } from './support/fakeDiscord/index.js';

describe('settings commands through discord.js and the fake Discord', () => {
  let fake: FakeDiscord;
  let client: Client;
  let storage: Storage;
  let guildId: string;
  let channelId: string;
  let adminId: string;
  let memberId: string;
  let narratorsRole: string;
  const failures: unknown[] = [];

  before(async () => {
    fake = await FakeDiscord.start({ commands: commands.map((c) => c.data.toJSON()) });
    storage = await openStorage('sqlite::memory:');
    const guild = fake.createGuild({ name: 'Wire' });
    guildId = guild.id;
    channelId = fake.createChannel(guildId, { name: 'general', type: 'text' }).id;
    const admins = fake.createRole(guildId, { name: 'Admins', permissions: ['ManageGuild'] });
    narratorsRole = fake.createRole(guildId, { name: 'Narrators', permissions: [] });
    adminId = fake.createUser({ username: 'admin' }).id;
    fake.addMember(guildId, adminId, [admins]);
    memberId = fake.createUser({ username: 'member', guilds: [guildId] }).id;

    const noop = () => undefined;
    const logger = { info: noop, warn: noop, debug: noop, error: noop, trace: noop, fatal: noop, child: () => logger };
    const ctx: CommandContext = {
      config: loadConfig({ TTS_VOICES: 'narrator,female', CACHE_MAX_MB: '0' }),
      storage,
      logger: logger as unknown as CommandContext['logger'],
      orchestrator: undefined as never,
      backend: { kind: 'local' },
      playback: undefined as never,
      background: noop,
    };
    client = new Client({ intents: [GatewayIntentBits.Guilds], rest: { api: fake.restUrl } });
    client.on('interactionCreate', (interaction: Interaction) => {
      const run = async () => {
        if (interaction.isAutocomplete()) return findCommand(interaction.commandName)?.autocomplete?.(interaction, ctx);
        if (interaction.isChatInputCommand()) return findCommand(interaction.commandName)?.execute(interaction, ctx);
      };
      run().catch((err: unknown) => failures.push(err));
    });
    const ready = once(client, 'clientReady');
    await client.login(fake.token);
    await ready;
  });

  after(async () => {
    await client.destroy();
    await fake.close();
    await storage.close();
    assert.deepEqual(failures, []);
  });

  /** The private answer: an ephemeral defer, then the edit that fills it (mentions parse nothing). */
  async function privateEdit(inv: Invocation): Promise<string> {
    const ack = await inv.acknowledged();
    const flags = (ack.data as { flags?: number } | undefined)?.flags ?? 0;
    assert.ok((flags & MessageFlags.Ephemeral) !== 0, 'ephemeral');
    if (ack.type === InteractionResponseType.ChannelMessageWithSource) return (ack.data as { content: string }).content;
    assert.equal(ack.type, InteractionResponseType.DeferredChannelMessageWithSource);
    const edit = await inv.waitForEdit();
    assert.deepEqual(edit.payload.allowed_mentions, { parse: [] });
    return edit.payload.content ?? '';
  }

  test('an admin sets the limits and the role; the database holds them', async () => {
    const limits = fake.invokeCommand({
      user: adminId,
      guild: guildId,
      channel: channelId,
      name: 'settings',
      subcommand: 'limits',
      options: { daily_chars: 300, cooldown: 15 },
    });
    assert.match(await privateEdit(limits), /^✅ Limits saved\.\n/);
    const role = fake.invokeCommand({ user: adminId, guild: guildId, channel: channelId, name: 'settings', subcommand: 'role', options: { role: narratorsRole } });
    assert.equal(await privateEdit(role), `✅ Only members with <@&${narratorsRole}> may narrate now.`);
    const s = await storage.getSettings(guildId);
    assert.equal(s.dailyChars, 300);
    assert.equal(s.cooldownSec, 15);
    assert.equal(s.roleId, narratorsRole);
    const show = fake.invokeCommand({ user: adminId, guild: guildId, channel: channelId, name: 'settings', subcommand: 'show', locale: 'vi' });
    assert.match(await privateEdit(show), /^\*\*Cài đặt của máy chủ\*\*\n/);
    assert.deepEqual(fake.problems, []);
  });

  test('a member without Manage Server: /settings is hidden by Discord; /usage server and /dictionary add refuse at once', async () => {
    assert.throws(
      () => fake.invokeCommand({ user: memberId, guild: guildId, channel: channelId, name: 'settings', subcommand: 'show' }),
      /default_member_permissions/,
    );
    const usage = fake.invokeCommand({ user: memberId, guild: guildId, channel: channelId, name: 'usage', subcommand: 'server' });
    const refused = await usage.replied();
    assert.ok((((refused.data as { flags?: number }).flags ?? 0) & MessageFlags.Ephemeral) !== 0);
    assert.equal((refused.data as { content: string }).content, 'Only members with the **Manage Server** permission can do this.');
    const add = fake.invokeCommand({
      user: memberId,
      guild: guildId,
      channel: channelId,
      name: 'dictionary',
      subcommand: 'add',
      options: { word: 'ae', say: 'anh em' },
    });
    assert.equal(await privateEdit(add), 'Only members with the **Manage Server** permission can do this.');
    assert.deepEqual(await storage.listDictionary(guildId), []);
    // What is for everyone works for them.
    const me = fake.invokeCommand({ user: memberId, guild: guildId, channel: channelId, name: 'usage', subcommand: 'me' });
    assert.equal(await privateEdit(me), '**Your usage in this server**\nNo narrations in the last 30 days.');
  });

  test('/voice set with autocomplete, then show', async () => {
    const choices = await fake.autocomplete({
      user: memberId,
      guild: guildId,
      channel: channelId,
      name: 'voice',
      subcommand: 'set',
      focused: 'voice',
      options: { voice: 'fe' },
    });
    assert.deepEqual(choices, [{ name: 'female', value: 'female' }]);
    const set = fake.invokeCommand({ user: memberId, guild: guildId, channel: channelId, name: 'voice', subcommand: 'set', options: { voice: 'female', speed: 1.2 } });
    assert.match(await privateEdit(set), /^✅ Your narrations now use the voice \*\*female\*\* at speed \*\*1\.2\*\*/);
    assert.deepEqual(await storage.getMember(guildId, memberId), { voice: 'female', speed: 1.2 });
    const show = fake.invokeCommand({ user: memberId, guild: guildId, channel: channelId, name: 'voice', subcommand: 'show' });
    assert.equal(await privateEdit(show), '**Your voice**\n• Voice: **female** (your choice)\n• Speed: **1.2** (your choice)');
    assert.deepEqual(fake.problems, []);
  });
});
