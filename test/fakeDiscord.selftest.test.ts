/**
 * Self-test of the offline fake Discord (test/support/fakeDiscord): proves that an unmodified discord.js +
 * @discordjs/voice bot, in its own process, can log in, register a command, answer autocomplete, defer, join
 * voice, stream Opus that the fake decrypts and decodes back to the tone that was played, edit its reply with a
 * file, and leave cleanly on SIGTERM; that the same bot survives what Discord does to connections (gateway
 * resume, voice resume and rejoin, being moved, being kicked); and pins the Discord rules the fake enforces without
 * a bot (3 s ack window, 15 min token expiry, follow-ups, buttons, permissions, limits, TLS trust).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { fileURLToPath } from 'node:url';
import { GatewayDispatchEvents, GatewayIntentBits, GatewayOpcodes, InteractionResponseType } from 'discord-api-types/v10';
import { WebSocket } from 'ws';
import type { RawData } from 'ws';
import { FakeDiscord, dominantFrequency, rms, toMono } from './support/fakeDiscord/index.js';
import { sinePcm, wavFile } from './support/fakeDiscord/selftestTone.js';

const BOT_SCRIPT = fileURLToPath(new URL('./support/fakeDiscord/selftestBot.ts', import.meta.url));
const REPO_ROOT = fileURLToPath(new URL('..', import.meta.url));

interface RunningBot {
  readonly child: ChildProcess;
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  readonly output: () => string;
}

function startBot(fake: FakeDiscord): RunningBot {
  const child = spawn(process.execPath, ['--import', 'tsx', BOT_SCRIPT], {
    cwd: REPO_ROOT,
    env: fake.childEnv({ FAKE_DISCORD_API: fake.restUrl, FAKE_DISCORD_TOKEN: fake.token }),
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout?.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr?.on('data', (chunk: Buffer) => (output += chunk.toString()));
  const exited = once(child, 'exit').then(([code, signal]) => ({ code: code as number | null, signal: signal as NodeJS.Signals | null }));
  return { child, exited, output: () => output };
}

test('a real discord.js bot: command, autocomplete, voice and file through the fake, then a clean SIGTERM', async (t) => {
  const startedAt = performance.now();
  const fake = await FakeDiscord.start();
  t.after(() => fake.close());
  const guild = fake.createGuild({ name: 'Selftest' });
  const text = fake.createChannel(guild.id, { name: 'general', type: 'text' });
  const voice = fake.createChannel(guild.id, { name: 'Lounge', type: 'voice' });
  const alice = fake.createUser({ username: 'alice', guilds: [guild.id] });
  fake.userJoinVoice(alice.id, voice.id);

  const bot = startBot(fake);
  t.after(() => {
    if (bot.child.exitCode === null) bot.child.kill('SIGKILL');
  });
  const diagnose = (): string => `\n--- bot output ---\n${bot.output()}\n--- fake problems ---\n${fake.problems.join('\n')}`;

  const commands = await fake.waitForCommands((list) => list.some((c) => c.name === 'tone'), 15_000).catch((err: unknown) => {
    throw new Error(`${String(err)}${diagnose()}`);
  });
  assert.equal(commands.length, 1);
  const session = fake.gatewaySessions[0];
  assert.equal(session?.intents, GatewayIntentBits.Guilds | GatewayIntentBits.GuildVoiceStates);
  const readyAt = performance.now();

  const choices = await fake.autocomplete({
    user: alice.id, guild: guild.id, channel: text.id, name: 'tone', focused: 'label', options: { frequency: 440, label: 'b' },
  });
  assert.deepEqual(choices, [{ name: 'beta', value: 'beta' }]);

  const inv = fake.invokeCommand({ user: alice.id, guild: guild.id, channel: text.id, name: 'tone', options: { frequency: 440, seconds: 2, label: 'la' } });
  const deferred = await inv.deferred(3_000);
  assert.ok(inv.latencyOf(deferred) < 3_000, `deferred after ${inv.latencyOf(deferred)} ms`);

  const edit = await inv.waitForEdit((e) => e.files.length > 0, 15_000).catch((err: unknown) => {
    throw new Error(`${String(err)}${diagnose()}`);
  });
  const expected = wavFile(sinePcm(440, 2));
  assert.equal(edit.files.length, 1);
  assert.equal(edit.files[0]?.name, 'la.wav');
  assert.match(edit.files[0]?.contentType ?? '', /wav/);
  assert.ok(Buffer.from(edit.files[0]?.bytes ?? []).equals(expected), 'the attached WAV is byte-for-byte the tone');
  assert.equal(edit.payload.content, 'Played 440 Hz for 2 s.');
  // What the channel shows now: the "thinking…" placeholder replaced by the reply with its file.
  const shown = inv.original();
  assert.equal(shown?.content, 'Played 440 Hz for 2 s.');
  assert.equal(shown?.attachments[0]?.filename, 'la.wav');
  assert.equal((shown?.flags ?? 0) & 128, 0, 'no longer loading');
  assert.deepEqual(fake.channelMessages(text.id).map((m) => m.id), [shown?.id]);
  const download = await fetch(shown?.attachments[0]?.url ?? '');
  assert.ok(Buffer.from(await download.arrayBuffer()).equals(expected), 'the attachment URL serves the same bytes');

  // Voice: the bot is in alice's channel and what it played decodes back to 2 s of 440 Hz.
  assert.equal(fake.botVoiceChannel(guild.id), voice.id);
  const [voiceSession] = fake.voiceSessions(guild.id);
  assert.equal(voiceSession?.mode, 'aead_aes256_gcm_rtpsize');
  assert.ok((voiceSession?.speaking.length ?? 0) > 0, 'the bot signalled SPEAKING');
  const frames = fake.frames(guild.id);
  assert.ok(frames.length >= 98 && frames.length <= 102, `${frames.length} audio frames (expected ~100)`);
  assert.ok(fake.frames(guild.id, { includeSilence: true }).length > frames.length, 'the stream ended with silence frames');
  assert.deepEqual(fake.voicePacketErrors, { stray: 0, decryptFailures: 0 });
  const mono = toMono(fake.receivedAudio(guild.id));
  const seconds = mono.length / 48_000;
  assert.ok(Math.abs(seconds - 2) <= 0.1, `decoded ${seconds.toFixed(3)} s of audio`);
  const frequency = dominantFrequency(mono, 48_000);
  assert.ok(Math.abs(frequency - 440) <= 4.4, `dominant frequency ${frequency.toFixed(1)} Hz`);
  const loudness = rms(mono);
  assert.ok(Math.abs(loudness - 0.5 / Math.SQRT2) < 0.05, `RMS ${loudness.toFixed(3)} (a 0.5-amplitude sine is 0.354)`);
  const firstAudio = fake.firstPacketAt(guild.id) ?? Infinity;
  assert.ok(firstAudio > deferred.receivedAt && firstAudio < edit.receivedAt);

  // SIGTERM: the bot leaves voice (op 4 with channel_id null), closes the gateway with 1000 and exits 0.
  bot.child.kill('SIGTERM');
  const exit = await bot.exited;
  assert.deepEqual(exit, { code: 0, signal: null }, diagnose());
  assert.equal(fake.botVoiceChannel(guild.id), null);
  assert.deepEqual(fake.voiceRequests.map((r) => r.outcome), ['joined', 'left']);
  assert.ok(fake.gatewayCloses.some((c) => c.by === 'client' && c.code === 1000), JSON.stringify(fake.gatewayCloses));
  assert.ok(fake.voiceSessions(guild.id).every((s) => s.ended && !s.open));
  assert.deepEqual(fake.problems, []);
  t.diagnostic(
    `timings: bot ready ${(readyAt - startedAt).toFixed(0)} ms after start; defer ${inv.latencyOf(deferred).toFixed(0)} ms; ` +
      `first audio ${inv.latencyOf({ receivedAt: firstAudio }).toFixed(0)} ms; edit ${inv.latencyOf(edit).toFixed(0)} ms after the command; ` +
      `total ${(performance.now() - startedAt).toFixed(0)} ms`,
  );
});

test('a real bot rides out what Discord does to it: gateway resume, voice resume/rejoin, move, kick', async (t) => {
  const fake = await FakeDiscord.start();
  t.after(() => fake.close());
  const guild = fake.createGuild({ name: 'Resilience' });
  const text = fake.createChannel(guild.id, { name: 'general', type: 'text' });
  const lounge = fake.createChannel(guild.id, { name: 'Lounge', type: 'voice' });
  const stage = fake.createChannel(guild.id, { name: 'Stage', type: 'voice' });
  const alice = fake.createUser({ username: 'alice', guilds: [guild.id] });
  fake.userJoinVoice(alice.id, lounge.id);
  const bot = startBot(fake);
  t.after(() => {
    if (bot.child.exitCode === null) bot.child.kill('SIGKILL');
  });
  const diagnose = (): string => `\n--- bot output ---\n${bot.output()}\n--- fake problems ---\n${fake.problems.join('\n')}`;
  await fake.waitForCommands(undefined, 15_000);
  const inv = fake.invokeCommand({ user: alice.id, guild: guild.id, channel: text.id, name: 'tone', options: { frequency: 660, seconds: 0.2 } });
  await inv.waitForEdit((e) => e.files.length > 0, 10_000).catch((err: unknown) => {
    throw new Error(`${String(err)}${diagnose()}`);
  });

  // Gateway dropped with a resumable code: discord.js RESUMEs the same session.
  fake.closeGateway(4000);
  await fake.waitFor(() => fake.gatewayOps.find((o) => o.op === GatewayOpcodes.Resume), 5_000, 'a RESUME');
  await fake.waitFor(() => (fake.gatewaySessions[0]?.connected ? true : undefined), 5_000, 'the session to reconnect');
  assert.equal(fake.gatewaySessions.length, 1);

  // Voice server "crashed" (4015): @discordjs/voice resumes the same voice session (same SSRC).
  fake.closeVoiceSocket(guild.id, 4015);
  await fake.waitFor(() => (fake.voiceSessions(guild.id)[0]?.open ? true : undefined), 5_000, 'the voice session to resume');
  assert.equal(fake.voiceSessions(guild.id).length, 1);

  // Session invalid (4006): the library rejoins with a new op 4 and a fresh voice session.
  fake.closeVoiceSocket(guild.id, 4006);
  await fake.waitFor(() => fake.voiceSessions(guild.id)[1]?.readyAt, 5_000, 'a second voice session');
  assert.deepEqual(fake.voiceRequests.map((r) => r.outcome), ['joined', 'joined']);

  // A moderator drags the bot to another channel: new voice session there, bot state follows.
  await fake.moveBot(guild.id, stage.id);
  const moved = await fake.waitFor(() => fake.voiceSessions(guild.id).find((s) => s.channelId === stage.id && s.readyAt !== undefined), 5_000, 'a session in the new channel');
  assert.equal(fake.botVoiceChannel(guild.id), stage.id);
  assert.equal(moved.channelId, stage.id);

  // Kicked: state with channel_id null, voice socket closed 4014; nothing remains connected.
  fake.disconnectBot(guild.id);
  await fake.waitFor(() => (fake.voiceSessions(guild.id).every((s) => !s.open) ? true : undefined), 5_000, 'voice sockets to close');
  assert.equal(fake.botVoiceChannel(guild.id), null);
  assert.ok(fake.voiceSessions(guild.id).at(-1)?.closes.some((c) => c.code === 4014 && c.by === 'server'));

  bot.child.kill('SIGTERM');
  assert.deepEqual(await bot.exited, { code: 0, signal: null }, diagnose());
  assert.deepEqual(fake.voicePacketErrors, { stray: 0, decryptFailures: 0 });
  assert.deepEqual(fake.problems, []);
});

function sleepUntil(when: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, Math.max(0, when - performance.now())));
}

interface RawClient {
  readonly ws: WebSocket;
  readonly dispatches: { t: string; d: unknown }[];
  /** Resolves with the first dispatch of type `t` (already received or still to come). */
  waitForDispatch(t: string, timeoutMs?: number): Promise<unknown>;
}

/** A bare gateway client: enough to receive dispatches without a bot (for the rules the fake enforces by itself). */
async function rawGatewayClient(fake: FakeDiscord, intents: number): Promise<RawClient> {
  const gateway = (await (await fetch(`${fake.restUrl}/v10/gateway/bot`, { headers: { authorization: `Bot ${fake.token}` } })).json()) as { url: string };
  const ws = new WebSocket(`${gateway.url}?v=10&encoding=json`);
  const dispatches: { t: string; d: unknown }[] = [];
  ws.on('message', (raw: RawData) => {
    const frame = JSON.parse(raw.toString()) as { op: number; t?: string; d: unknown };
    if (frame.op === GatewayOpcodes.Hello) {
      ws.send(JSON.stringify({ op: GatewayOpcodes.Identify, d: { token: fake.token, intents, properties: { os: 'linux', browser: 'test', device: 'test' } } }));
    }
    if (frame.op === GatewayOpcodes.Dispatch && frame.t) dispatches.push({ t: frame.t, d: frame.d });
  });
  const waitForDispatch = (t: string, timeoutMs = 2_000): Promise<unknown> =>
    new Promise((resolve, reject) => {
      const deadline = performance.now() + timeoutMs;
      const poll = (): void => {
        const found = dispatches.find((d) => d.t === t);
        if (found) resolve(found.d);
        else if (performance.now() > deadline) reject(new Error(`no ${t} dispatch within ${timeoutMs} ms`));
        else setTimeout(poll, 5);
      };
      poll();
    });
  await fake.waitForBotReady(5_000);
  await waitForDispatch(GatewayDispatchEvents.GuildCreate);
  return { ws, dispatches, waitForDispatch };
}

test('Discord rules the fake enforces: ack window, token expiry, follow-ups, buttons, channel permissions, limits, Connect', async (t) => {
  const fake = await FakeDiscord.start({
    // Short windows so the 3 s / 15 min rules are reachable; generous enough for a loaded 2-core machine.
    interactionAckWindowMs: 500,
    interactionTokenTtlMs: 1_500,
    commands: [
      {
        name: 'say',
        description: 'Says something',
        options: [{ type: 3, name: 'text', description: 'What to say', required: true, max_length: 100, autocomplete: true }],
      },
    ],
  });
  t.after(() => fake.close());
  const guild = fake.createGuild({ name: 'Rules' });
  const text = fake.createChannel(guild.id, { name: 'general', type: 'text' });
  const voice = fake.createChannel(guild.id, { name: 'Lounge', type: 'voice' });
  const bob = fake.createUser({ username: 'bob', guilds: [guild.id] });
  const { ws, dispatches, waitForDispatch } = await rawGatewayClient(fake, GatewayIntentBits.Guilds | GatewayIntentBits.GuildVoiceStates);
  t.after(() => ws.close());
  const api = `${fake.restUrl}/v10`;
  const post = (path: string, body: unknown): Promise<Response> =>
    fetch(`${api}${path}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });

  // A value the Discord client would refuse never reaches the bot.
  assert.throws(() => fake.invokeCommand({ user: bob.id, guild: guild.id, channel: text.id, name: 'say', options: { text: 'x'.repeat(101) } }), /0–100 characters/);

  // Deferred in time → 204; a second callback → 400/40060; edits work until the token expires → 401/50027.
  const inv = fake.invokeCommand({ user: bob.id, guild: guild.id, channel: text.id, name: 'say', options: { text: 'hello' } });
  await waitForDispatch(GatewayDispatchEvents.InteractionCreate);
  assert.equal((await post(`/interactions/${inv.id}/${inv.token}/callback`, { type: 5 })).status, 204);
  const twice = await post(`/interactions/${inv.id}/${inv.token}/callback`, { type: 5 });
  assert.deepEqual([twice.status, ((await twice.json()) as { code: number }).code], [400, 40060]);
  const patch = (): Promise<Response> =>
    fetch(`${api}/webhooks/${fake.applicationId}/${inv.token}/messages/%40original`, {
      method: 'PATCH',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ content: 'done' }),
    });
  assert.equal((await patch()).status, 200);
  assert.equal(inv.original()?.content, 'done');
  await sleepUntil(inv.timing.tokenExpiresAt + 20);
  const expired = await patch();
  assert.deepEqual([expired.status, ((await expired.json()) as { code: number }).code], [401, 50027]);
  assert.equal(inv.rejected.at(-1)?.code, 50027);

  // After a defer, the first follow-up takes the place of the "thinking…" message; later ones are new messages.
  const chat = fake.invokeCommand({ user: bob.id, guild: guild.id, channel: text.id, name: 'say', options: { text: 'chat' } });
  await post(`/interactions/${chat.id}/${chat.token}/callback`, { type: 5 });
  const first = (await (await post(`/webhooks/${fake.applicationId}/${chat.token}?wait=true`, { content: 'one' })).json()) as { id: string };
  const second = (await (await post(`/webhooks/${fake.applicationId}/${chat.token}?wait=true`, { content: 'two' })).json()) as { id: string };
  assert.equal(first.id, chat.originalMessageId);
  assert.notEqual(second.id, first.id);
  assert.deepEqual(chat.followUpMessages().map((m) => m.content), ['two']);
  assert.equal(chat.original()?.content, 'one');

  // Channel messages (the fallback once a token has expired) need SendMessages in that channel.
  const asBot = { authorization: `Bot ${fake.token}`, 'content-type': 'application/json' };
  const sent = await fetch(`${api}/channels/${text.id}/messages`, { method: 'POST', headers: asBot, body: JSON.stringify({ content: 'fallback' }) });
  assert.equal(sent.status, 200);
  assert.equal(fake.channelMessages(text.id).at(-1)?.content, 'fallback');
  const tooLong = await fetch(`${api}/channels/${text.id}/messages`, { method: 'POST', headers: asBot, body: JSON.stringify({ content: 'x'.repeat(2001) }) });
  assert.deepEqual([tooLong.status, ((await tooLong.json()) as { code: number }).code], [400, 50035]);
  // A button on a bot message: the click is an interaction whose type-7 answer updates that message.
  const panel = (await (
    await fetch(`${api}/channels/${text.id}/messages`, {
      method: 'POST',
      headers: asBot,
      body: JSON.stringify({ content: 'Narrating…', components: [{ type: 1, components: [{ type: 2, style: 4, label: 'Stop', custom_id: 'stop' }] }] }),
    })
  ).json()) as { id: string };
  assert.throws(() => fake.clickComponent({ user: bob.id, message: panel.id, customId: 'nope' }), /no component/);
  const click = fake.clickComponent({ user: bob.id, message: panel.id, customId: 'stop' });
  assert.equal((await post(`/interactions/${click.id}/${click.token}/callback`, { type: 7, data: { content: 'Stopped.', components: [] } })).status, 204);
  await click.updated();
  assert.deepEqual(fake.channelMessages(text.id).find((m) => m.id === panel.id)?.content, 'Stopped.');

  fake.setPermissions({ guild: guild.id, channel: text.id, deny: ['SendMessages'] });
  const denied = await fetch(`${api}/channels/${text.id}/messages`, { method: 'POST', headers: asBot, body: JSON.stringify({ content: 'nope' }) });
  assert.deepEqual([denied.status, ((await denied.json()) as { code: number }).code], [403, 50013]);

  // Too late for the first callback → 404/10062 (the user saw "The application did not respond").
  const late = fake.invokeCommand({ user: bob.id, guild: guild.id, channel: text.id, name: 'say', options: { text: 'late' } });
  await sleepUntil(late.timing.ackDeadline + 20);
  const tooLate = await post(`/interactions/${late.id}/${late.token}/callback`, { type: 5 });
  assert.deepEqual([tooLate.status, ((await tooLate.json()) as { code: number }).code], [404, 10062]);

  // Autocomplete answers are limited to 25 choices.
  const ac = fake.autocomplete({ user: bob.id, guild: guild.id, channel: text.id, name: 'say', focused: 'text', options: { text: 'he' } });
  const acInv = fake.invocations.at(-1);
  const choices = Array.from({ length: 26 }, (_, i) => ({ name: `c${i}`, value: `c${i}` }));
  const tooMany = await post(`/interactions/${acInv?.id ?? ''}/${acInv?.token ?? ''}/callback`, { type: 8, data: { choices } });
  assert.deepEqual([tooMany.status, ((await tooMany.json()) as { code: number }).code], [400, 50035]);
  await post(`/interactions/${acInv?.id ?? ''}/${acInv?.token ?? ''}/callback`, { type: InteractionResponseType.ApplicationCommandAutocompleteResult, data: { choices: choices.slice(0, 2) } });
  assert.deepEqual((await ac).map((c) => c.name), ['c0', 'c1']);

  // Unknown routes are 404 JSON (never 5xx, which @discordjs/rest would retry); REST needs the bot token.
  const unknown = await fetch(`${api}/nope`, { headers: { authorization: `Bot ${fake.token}` } });
  assert.equal(unknown.status, 404);
  assert.equal(((await unknown.json()) as { message: string }).message, '404: Not Found');
  assert.equal((await fetch(`${api}/gateway/bot`)).status, 401);

  // Without Connect, an op 4 join is ignored (no VOICE_SERVER_UPDATE), as on Discord.
  fake.setPermissions({ guild: guild.id, channel: voice.id, deny: ['Connect'] });
  ws.send(JSON.stringify({ op: GatewayOpcodes.VoiceStateUpdate, d: { guild_id: guild.id, channel_id: voice.id, self_mute: false, self_deaf: true } }));
  const request = await fake.waitFor(() => fake.voiceRequests[0], 2_000, 'the op 4');
  assert.equal(request.outcome, 'ignored');
  assert.equal(fake.botVoiceChannel(guild.id), null);
  await waitForDispatch(GatewayDispatchEvents.ChannelUpdate);
  assert.ok(!dispatches.some((d) => d.t === GatewayDispatchEvents.VoiceServerUpdate));
});

test('the voice gateway is TLS with a per-run certificate that a process trusts only when told to', async (t) => {
  const fake = await FakeDiscord.start();
  t.after(() => fake.close());
  const hello = (): Promise<unknown> =>
    new Promise((resolve, reject) => {
      const ws = new WebSocket(`wss://${fake.voiceEndpoint}?v=8`);
      ws.once('message', (raw: RawData) => {
        ws.close();
        resolve(JSON.parse(raw.toString()));
      });
      ws.once('error', reject);
    });
  await assert.rejects(hello(), /self[- ]signed certificate/);
  fake.trustCertificateInProcess();
  assert.deepEqual(await hello(), { op: 8, d: { v: 8, heartbeat_interval: 13_750 } });
});
