/**
 * Self-test of what the fake Discord offers for users' inputs (issue 11): files a user uploads — to a slash
 * command's attachment option or with a message — served over HTTP under the fake's origin with the size Discord
 * declares (which a test may make lie) and an optional slow/chunked delivery, counted per download; messages users
 * post (content, mentions, files); and message context-menu commands invoked on them. A real discord.js client
 * (in process: no voice needed) reads what Discord would give it; what Discord's client would refuse throws.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { once } from 'node:events';
import {
  ApplicationCommandType,
  Client,
  ContextMenuCommandBuilder,
  GatewayIntentBits,
  SlashCommandBuilder,
  type Interaction,
} from 'discord.js';
import { FakeDiscord } from './support/fakeDiscord/index.js';

describe('fake Discord: uploads, user messages and message commands', () => {
  let fake: FakeDiscord;
  let client: Client;
  const seen: Interaction[] = [];
  let guildId: string;
  let textId: string;
  let aliceId: string;
  let bobId: string;

  before(async () => {
    fake = await FakeDiscord.start({
      commands: [
        new SlashCommandBuilder()
          .setName('read')
          .setDescription('Read a file')
          .addAttachmentOption((o) => o.setName('file').setDescription('The file').setRequired(true))
          .toJSON(),
        new ContextMenuCommandBuilder().setName('Read this').setNameLocalizations({ vi: 'Đọc to' }).setType(ApplicationCommandType.Message).toJSON(),
      ],
    });
    guildId = fake.createGuild({ name: 'Inputs' }).id;
    textId = fake.createChannel(guildId, { name: 'general', type: 'text' }).id;
    aliceId = fake.createUser({ username: 'alice', guilds: [guildId] }).id;
    bobId = fake.createUser({ username: 'bob', globalName: 'Bob B.', guilds: [guildId] }).id;
    client = new Client({ intents: [GatewayIntentBits.Guilds, GatewayIntentBits.GuildVoiceStates], rest: { api: fake.restUrl } });
    client.on('interactionCreate', (i) => void seen.push(i));
    const ready = once(client, 'clientReady');
    await client.login(fake.token);
    await ready;
  });

  after(async () => {
    await client?.destroy();
    await fake?.close();
  });

  /** The interaction as the client got it (the fake's waits do not see the client's state: this listens itself). */
  const received = (id: string): Promise<Interaction> => {
    const already = seen.find((i) => i.id === id);
    if (already) return Promise.resolve(already);
    return new Promise((resolve) => {
      const onInteraction = (i: Interaction) => {
        if (i.id !== id) return;
        client.off('interactionCreate', onInteraction);
        resolve(i);
      };
      client.on('interactionCreate', onInteraction);
    });
  };

  test('an attachment option: the bot gets the file’s name, declared size and URL, and downloading it gives the bytes', async () => {
    const bytes = Buffer.from('Xin chào các bạn.\n', 'utf8');
    const file = fake.uploadAttachment({ filename: 'chao.txt', bytes });
    assert.equal(file.size, bytes.byteLength);
    assert.ok(file.url.startsWith(`${fake.origin}/ephemeral-attachments/${fake.applicationId}/`));
    const inv = fake.invokeCommand({ user: aliceId, guild: guildId, channel: textId, name: 'read', options: { file: file.id } });
    const interaction = await received(inv.id);
    assert.ok(interaction.isChatInputCommand());
    const attachment = interaction.options.getAttachment('file', true);
    assert.equal(attachment.name, 'chao.txt');
    assert.equal(attachment.size, bytes.byteLength);
    assert.equal(attachment.contentType, 'text/plain; charset=utf-8');
    const res = await fetch(attachment.url);
    assert.equal(res.status, 200);
    assert.equal(res.headers.get('content-length'), String(bytes.byteLength));
    assert.deepEqual(Buffer.from(await res.arrayBuffer()), bytes);
    assert.deepEqual(fake.attachmentDownloads(file.id), { requests: 1, bytesSent: bytes.byteLength, completed: 1 });
  });

  test('a lying declared size and a slow, chunked delivery without Content-Length', async () => {
    const bytes = Buffer.alloc(64 * 1024, 0x61);
    const file = fake.uploadAttachment({ filename: 'big.txt', bytes, declaredSize: 100, delivery: { chunkBytes: 8 * 1024, delayMs: 5, omitLength: true } });
    const inv = fake.invokeCommand({ user: aliceId, guild: guildId, channel: textId, name: 'read', options: { file: file.id } });
    const interaction = await received(inv.id);
    assert.ok(interaction.isChatInputCommand());
    assert.equal(interaction.options.getAttachment('file', true).size, 100, 'the size Discord declared');
    const res = await fetch(file.url);
    assert.equal(res.headers.get('content-length'), null);
    assert.equal(res.headers.get('transfer-encoding'), 'chunked');
    const reader = res.body!.getReader();
    const first = await reader.read();
    assert.equal(first.value?.byteLength, 8 * 1024, 'one chunk at a time');
    await reader.cancel();
    const downloads = await fake.waitFor(() => {
      const d = fake.attachmentDownloads(file.id);
      return d.requests === 1 && d.bytesSent > 0 && d.bytesSent < bytes.byteLength ? d : undefined;
    }, 5_000, 'the server to notice the client left');
    assert.equal(downloads.completed, 0, 'the client gave up: not served whole');
  });

  test('what Discord’s client would refuse throws in the test', () => {
    assert.throws(() => fake.invokeCommand({ user: aliceId, guild: guildId, channel: textId, name: 'read', options: { file: '123456789012345678' } }), /uploaded with fake.uploadAttachment/);
    assert.throws(() => fake.uploadAttachment({ filename: 'empty.txt', bytes: new Uint8Array(0) }), /empty files/);
    assert.throws(() => fake.postUserMessage({ user: aliceId, channel: textId, content: '  ' }), /empty message/);
    assert.throws(() => fake.postUserMessage({ user: aliceId, channel: textId, content: 'x'.repeat(4001) }), /4000/);
    fake.setPermissions({ guild: guildId, channel: textId, target: bobId, deny: ['AttachFiles'] });
    const file = fake.uploadAttachment({ filename: 'a.txt', bytes: Buffer.from('a') });
    assert.throws(() => fake.postUserMessage({ user: bobId, channel: textId, content: 'hi', attachments: [file.id] }), /cannot attach files/);
    fake.setPermissions({ guild: guildId, channel: textId, target: bobId, deny: [] });
    assert.throws(() => fake.invokeMessageCommand({ user: aliceId, message: fake.postUserMessage({ user: aliceId, channel: textId, content: 'x' }).id, name: 'Nope' }), /no message command "Nope"/);
  });

  test('a user’s message with a mention and a file, then a message command on it: type 2 / data.type 3, resolved message', async () => {
    const notes = Buffer.from('# Chương 1\nTrời tối dần.', 'utf8');
    const file = fake.uploadAttachment({ filename: 'notes.md', bytes: notes });
    const posted = fake.postUserMessage({ user: aliceId, channel: textId, content: `Chào <@${bobId}>, đọc cái này nhé!`, attachments: [file.id] });
    assert.equal(posted.author.id, aliceId);
    assert.deepEqual(posted.mentions.map((u) => u.id), [bobId]);
    assert.ok(posted.attachments[0]!.url.startsWith(`${fake.origin}/attachments/${textId}/${file.id}/`), 'a message file lives under the channel');
    // A file posted with a message is no longer a fresh pick for an option.
    assert.throws(() => fake.invokeCommand({ user: aliceId, guild: guildId, channel: textId, name: 'read', options: { file: file.id } }));

    const inv = fake.invokeMessageCommand({ user: bobId, message: posted.id, name: 'Read this', locale: 'vi' });
    assert.equal(inv.payload.type, 2);
    const interaction = await received(inv.id);
    assert.ok(interaction.isMessageContextMenuCommand(), 'a message context-menu command');
    assert.equal(interaction.commandName, 'Read this');
    assert.equal(interaction.locale, 'vi');
    const message = interaction.targetMessage;
    assert.equal(message.id, posted.id);
    assert.equal(message.content, `Chào <@${bobId}>, đọc cái này nhé!`);
    assert.equal(message.author.id, aliceId);
    assert.equal(message.mentions.users.get(bobId)?.globalName, 'Bob B.');
    assert.equal(message.url, `https://discord.com/channels/${guildId}/${textId}/${posted.id}`);
    const attachment = message.attachments.first()!;
    assert.equal(attachment.name, 'notes.md');
    assert.equal(attachment.size, notes.byteLength);
    assert.deepEqual(Buffer.from(await (await fetch(attachment.url)).arrayBuffer()), notes);
    assert.deepEqual(fake.channelMessages(textId).map((m) => m.id).includes(posted.id), true, 'the channel shows the user’s message');

    // The bot can answer it like any command.
    await interaction.reply({ content: 'ok' });
    await inv.replied();
    assert.deepEqual(fake.problems, []);
  });

  test('message command definitions are validated like Discord: no description, no options, 1–32 characters', async () => {
    const put = (body: unknown) =>
      fetch(`${fake.restUrl}/v10/applications/${fake.applicationId}/commands`, {
        method: 'PUT',
        headers: { authorization: `Bot ${fake.token}`, 'content-type': 'application/json' },
        body: JSON.stringify(body),
      });
    assert.equal((await put([{ name: 'Read this', type: 3, description: 'no' }])).status, 400);
    assert.equal((await put([{ name: 'x'.repeat(33), type: 3 }])).status, 400);
    const ok = await put([{ name: 'Read this', type: 3 }, { name: 'read', description: 'Read a file', options: [{ type: 11, name: 'file', description: 'The file', required: true }] }]);
    assert.equal(ok.status, 200);
    // The 400s above are the point of this test: they are not the bot's problems.
  });
});
