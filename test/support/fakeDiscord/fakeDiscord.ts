/**
 * FakeDiscord: an offline Discord that speaks the real wire protocols (REST v10, gateway v10, voice gateway v8 over
 * TLS + UDP/RTP) so an unmodified discord.js + @discordjs/voice bot can be tested end to end on 127.0.0.1. This
 * class is the scripting surface a test uses — build the world, script users and moderators, invoke commands,
 * then assert on what a user would notice (replies, files, channel messages, decoded audio). The protocol work
 * lives in the servers it composes; see README.md in this folder for usage and the limits (no DAVE).
 */
import { getCACertificates, setDefaultCACertificates } from 'node:tls';
import { GatewayDispatchEvents } from 'discord-api-types/v10';
import type { APIMessage, Locale } from 'discord-api-types/v10';
import { NarratorError } from '../../../src/services/errors.js';
import { BotVoiceControl } from './botVoiceControl.js';
import type { VoiceRequestRecord } from './botVoiceControl.js';
import { ChangeFeed } from './changeFeed.js';
import { CommandRegistry } from './commandRegistry.js';
import type { StoredCommand } from './commandRegistry.js';
import { Diagnostics } from './diagnostics.js';
import { GatewayServer } from './gatewayServer.js';
import type { GatewayClose, GatewaySession } from './gatewayServer.js';
import { interactionRoutes } from './interactionRoutes.js';
import { InteractionFactory } from './interactionFactory.js';
import type { AutocompleteOptions, ClickComponentOptions, InvokeCommandOptions, InvokeMessageCommandOptions } from './interactionFactory.js';
import type { Invocation } from './invocation.js';
import { MessageStore } from './messageStore.js';
import { MAX_USER_CONTENT_LENGTH } from './messageStore.js';
import type { StoredAttachment } from './messageStore.js';
import { loadOpusDecoderFactory } from './opusDecoder.js';
import { hasPermission, permissionBits } from './permissions.js';
import type { PermissionName } from './permissions.js';
import { resourceRoutes } from './resourceRoutes.js';
import { RestServer } from './restServer.js';
import type { RestLogEntry } from './restServer.js';
import { commandList } from './schemas.js';
import type { CommandChoice } from './schemas.js';
import { createSelfSignedCertificate } from './tlsCertificate.js';
import type { TlsMaterial } from './tlsCertificate.js';
import { VoiceServer } from './voiceServer.js';
import type { VoiceFrame, VoiceSession } from './voiceServer.js';
import { UserUploads } from './userUploads.js';
import type { UploadOptions } from './userUploads.js';
import { World } from './world.js';
import type { ChannelKind } from './world.js';

export interface FakeDiscordOptions {
  /** The bot's username (default "Narrator"). */
  readonly botName?: string;
  /** The bot token the fake accepts (default "fake-bot-token"). */
  readonly token?: string;
  /** Time the bot has for the first callback (default 3000 ms, Discord's limit). */
  readonly interactionAckWindowMs?: number;
  /** Lifetime of an interaction token for edits and follow-ups (default 15 min, Discord's limit). */
  readonly interactionTokenTtlMs?: number;
  /** HELLO heartbeat interval of the main gateway (default 41250 ms, as Discord). */
  readonly heartbeatIntervalMs?: number;
  /** HELLO heartbeat interval of the voice gateway (default 13750 ms, as Discord). */
  readonly voiceHeartbeatIntervalMs?: number;
  /** Privileged intents "enabled in the Developer Portal" (GatewayIntentBits); others close the gateway with 4014. */
  readonly allowedPrivilegedIntents?: number;
  /** Global commands registered before the bot starts (e.g. `[builder.toJSON()]`), validated like a PUT. */
  readonly commands?: readonly unknown[];
  /** Largest request body accepted (default 32 MiB, above Discord's 10 MiB per-file limit so 413s come from the limit). */
  readonly maxBodyBytes?: number;
  /** Print a trace to stderr (also FAKE_DISCORD_DEBUG=1). */
  readonly debug?: boolean;
}

export interface FakeUser {
  readonly id: string;
  readonly username: string;
}

export interface FakeGuild {
  readonly id: string;
  readonly name: string;
  /** The @everyone role (same id as the guild). */
  readonly everyoneRoleId: string;
  /** The bot's managed role; `setPermissions({ guild })` edits it by default. */
  readonly botRoleId: string;
  readonly ownerId: string;
}

export interface FakeChannel {
  readonly id: string;
  readonly guildId: string;
  readonly name: string;
  readonly type: ChannelKind;
}

export interface SetPermissionsOptions {
  readonly guild: string;
  /** With a channel: replace one permission overwrite on it. Without: edit a role's permissions. */
  readonly channel?: string;
  /** User or role id; default the bot (channel overwrite) or the bot's managed role (role edit). */
  readonly target?: string;
  readonly allow?: readonly PermissionName[];
  readonly deny?: readonly PermissionName[];
}

/** A user's file as a test refers to it. */
export interface FakeAttachment {
  /** The value of an attachment option; an entry of `postUserMessage`'s `attachments`. */
  readonly id: string;
  readonly filename: string;
  /** Where it is served now (changes when it is posted with a message). */
  readonly url: string;
  /** The size Discord reports (the declared one). */
  readonly size: number;
}

export interface FrameFilter {
  /** Include the `F8 FF FE` silence frames (stream ends, player underruns). Default false. */
  readonly includeSilence?: boolean;
  /** Include frames Discord would not have delivered (bot moved away, no Speak, server-muted). Default false. */
  readonly includeInaudible?: boolean;
}

export interface VoiceSessionInfo {
  readonly guildId: string;
  readonly channelId: string;
  readonly ssrc: number;
  readonly mode: string | undefined;
  readonly readyAt: number | undefined;
  readonly ended: boolean;
  readonly open: boolean;
  readonly maxDaveProtocolVersion: number | undefined;
  readonly closes: readonly { readonly code: number; readonly by: 'client' | 'server'; readonly at: number }[];
  readonly speaking: readonly { readonly speaking: number; readonly at: number }[];
}

const DEFAULT_TOKEN = 'fake-bot-token';

function misuse(message: string): NarratorError {
  return new NarratorError('user', 'fake_discord_misuse', `Fake Discord: ${message}`);
}

export class FakeDiscord {
  readonly token: string;
  readonly #world: World;
  readonly #feed: ChangeFeed;
  readonly #diag: Diagnostics;
  readonly #rest: RestServer;
  readonly #gateway: GatewayServer;
  readonly #voice: VoiceServer;
  readonly #botVoice: BotVoiceControl;
  readonly #commands: CommandRegistry;
  readonly #messages: MessageStore;
  readonly #uploads: UserUploads;
  readonly #tls: TlsMaterial;
  readonly #interactions: InteractionFactory;
  readonly #ackWindowMs: number;
  #closed = false;

  private constructor(parts: {
    token: string;
    world: World;
    feed: ChangeFeed;
    diag: Diagnostics;
    rest: RestServer;
    gateway: GatewayServer;
    voice: VoiceServer;
    botVoice: BotVoiceControl;
    commands: CommandRegistry;
    messages: MessageStore;
    uploads: UserUploads;
    tls: TlsMaterial;
    interactions: InteractionFactory;
    ackWindowMs: number;
  }) {
    this.token = parts.token;
    this.#world = parts.world;
    this.#feed = parts.feed;
    this.#diag = parts.diag;
    this.#rest = parts.rest;
    this.#gateway = parts.gateway;
    this.#voice = parts.voice;
    this.#botVoice = parts.botVoice;
    this.#commands = parts.commands;
    this.#messages = parts.messages;
    this.#uploads = parts.uploads;
    this.#tls = parts.tls;
    this.#interactions = parts.interactions;
    this.#ackWindowMs = parts.ackWindowMs;
  }

  static async start(opts: FakeDiscordOptions = {}): Promise<FakeDiscord> {
    const token = opts.token ?? DEFAULT_TOKEN;
    const feed = new ChangeFeed();
    const diag = new Diagnostics(opts.debug);
    const world = new World(opts.botName ?? 'Narrator');
    const commands = new CommandRegistry(world);
    if (opts.commands) {
      const parsed = commandList.safeParse(opts.commands);
      if (!parsed.success) throw misuse(`the "commands" option is not a valid command list: ${parsed.error.message}`);
      commands.overwrite(undefined, parsed.data);
    }
    const [tls, decoderFactory] = await Promise.all([createSelfSignedCertificate(), loadOpusDecoderFactory()]);
    let voice: VoiceServer;
    let rest: RestServer;
    try {
      voice = await VoiceServer.start(feed, diag, {
        tls,
        decoderFactory,
        heartbeatIntervalMs: opts.voiceHeartbeatIntervalMs ?? 13_750,
        isAudible: (session: VoiceSession) => {
          const bot = world.bot.id;
          if (world.voiceChannelOf(session.guildId, bot) !== session.channelId) return false;
          if (world.member(session.guildId, bot).mute) return false;
          return hasPermission(world.permissionsOf(session.guildId, bot, session.channelId), 'Speak');
        },
        usersInChannel: (channelId) => world.usersInVoiceChannel(channelId),
      });
    } catch (err) {
      await tls.dispose();
      throw err;
    }
    try {
      rest = await RestServer.start({ token, maxBodyBytes: opts.maxBodyBytes ?? 32 * 1024 * 1024, feed, diag });
    } catch (err) {
      await voice.close();
      await tls.dispose();
      throw err;
    }
    const origin = rest.origin;
    const messages = new MessageStore(world, () => origin);
    const uploads = new UserUploads(world, () => origin, () => feed.notify());
    // BotVoiceControl needs the gateway and the gateway's op-4 hook needs it: bind through a holder.
    const holder: { botVoice?: BotVoiceControl } = {};
    const gateway = new GatewayServer(
      world,
      feed,
      diag,
      { token, heartbeatIntervalMs: opts.heartbeatIntervalMs ?? 41_250, allowedPrivilegedIntents: opts.allowedPrivilegedIntents ?? 0 },
      { onVoiceStateRequest: (session, request) => holder.botVoice?.onRequest(session, request) },
    );
    gateway.attach(rest.server, origin);
    const botVoice = new BotVoiceControl(world, gateway, voice, feed, diag);
    holder.botVoice = botVoice;
    const ackWindowMs = opts.interactionAckWindowMs ?? 3_000;
    const interactions = new InteractionFactory({
      world,
      commands,
      messages,
      gateway,
      feed,
      uploads,
      ackWindowMs,
      tokenTtlMs: opts.interactionTokenTtlMs ?? 15 * 60_000,
    });
    const fake = new FakeDiscord({
      token,
      world,
      feed,
      diag,
      rest,
      gateway,
      voice,
      botVoice,
      commands,
      messages,
      uploads,
      tls,
      interactions,
      ackWindowMs,
    });
    rest.setRoutes([
      ...interactionRoutes({ world, messages, invocations: interactions.invocations, feed }),
      ...resourceRoutes({ world, messages, uploads, commands, gatewayUrl: () => gateway.url }),
    ]);
    return fake;
  }

  // ---- connection details for the bot ----------------------------------------------------------------------------

  /** For discord.js: `new Client({ rest: { api: fake.restUrl } })` (it appends `/v10`). */
  get restUrl(): string {
    return this.#rest.apiBase;
  }

  /** `http://127.0.0.1:PORT` (attachment URLs live under it). */
  get origin(): string {
    return this.#rest.origin;
  }

  /** What GET /gateway/bot returns (discord.js finds it by itself). */
  get gatewayUrl(): string {
    return this.#gateway.url;
  }

  /** `127.0.0.1:PORT` of the TLS voice gateway, as sent in VOICE_SERVER_UPDATE. */
  get voiceEndpoint(): string {
    return this.#voice.endpoint;
  }

  /** The self-signed certificate the voice gateway presents; a bot process must trust it (NODE_EXTRA_CA_CERTS). */
  get caCertPath(): string {
    return this.#tls.certPath;
  }

  get caCertPem(): string {
    return this.#tls.cert;
  }

  get applicationId(): string {
    return this.#world.applicationId;
  }

  get bot(): FakeUser {
    return { id: this.#world.bot.id, username: this.#world.bot.username };
  }

  /** Environment for a bot child process: the parent's, plus NODE_EXTRA_CA_CERTS and `extra`. */
  childEnv(extra: Readonly<Record<string, string>> = {}): NodeJS.ProcessEnv {
    return { ...process.env, NODE_EXTRA_CA_CERTS: this.caCertPath, ...extra };
  }

  /**
   * Makes TLS in *this* process trust the voice certificate (for a bot running in-process). NODE_EXTRA_CA_CERTS
   * is read only at process start, so this uses `tls.setDefaultCACertificates` (Node ≥ 22.19), which the `ws`
   * client inside @discordjs/voice picks up. Process-wide: call it only in a test process.
   */
  trustCertificateInProcess(): void {
    setDefaultCACertificates([...getCACertificates('default'), this.#tls.cert]);
  }

  // ---- the world ------------------------------------------------------------------------------------------------

  createUser(opts: { username: string; globalName?: string; guilds?: readonly string[] }): FakeUser {
    const user = this.#world.createUser({ username: opts.username, ...(opts.globalName ? { globalName: opts.globalName } : {}) });
    for (const guildId of opts.guilds ?? []) this.addMember(guildId, user.id);
    return { id: user.id, username: user.username };
  }

  createGuild(opts: { name: string; id?: string; ownerId?: string; locale?: `${Locale}`; attachmentSizeLimit?: number }): FakeGuild {
    const guild = this.#world.createGuild({
      name: opts.name,
      ...(opts.id ? { id: opts.id } : {}),
      ...(opts.ownerId ? { ownerId: opts.ownerId } : {}),
      ...(opts.locale ? { locale: opts.locale as Locale } : {}),
      ...(opts.attachmentSizeLimit !== undefined ? { attachmentSizeLimit: opts.attachmentSizeLimit } : {}),
    });
    this.#gateway.dispatchEach(GatewayDispatchEvents.GuildCreate, (session) => this.#world.guildCreate(guild.id, session.intents));
    return { id: guild.id, name: guild.name, everyoneRoleId: guild.id, botRoleId: guild.botRoleId, ownerId: guild.ownerId };
  }

  createChannel(guildId: string, opts: { name: string; type: ChannelKind; userLimit?: number }): FakeChannel {
    const channel = this.#world.createChannel(guildId, { name: opts.name, kind: opts.type, ...(opts.userLimit !== undefined ? { userLimit: opts.userLimit } : {}) });
    this.#gateway.dispatch(GatewayDispatchEvents.ChannelCreate, this.#world.apiChannel(channel.id));
    return { id: channel.id, guildId, name: channel.name, type: channel.kind };
  }

  addMember(guildId: string, userId: string, roleIds: readonly string[] = []): void {
    const existed = this.#world.guild(guildId).members.has(userId);
    this.#world.addMember(guildId, userId, [...roleIds]);
    if (!existed) this.#gateway.dispatch(GatewayDispatchEvents.GuildMemberAdd, { ...this.#world.apiMember(guildId, userId), guild_id: guildId });
  }

  createRole(guildId: string, opts: { name: string; permissions: readonly PermissionName[] }): string {
    const guild = this.#world.guild(guildId);
    const id = this.#world.ids.next();
    const role = { id, name: opts.name, permissions: permissionBits(opts.permissions), position: guild.roles.size, managed: false };
    guild.roles.set(id, role);
    this.#gateway.dispatch(GatewayDispatchEvents.GuildRoleCreate, { guild_id: guildId, role: this.#world.apiRole(role) });
    return id;
  }

  /**
   * Changes what someone may do. With `channel`: sets the overwrite for `target` (default: the bot) on that
   * channel — e.g. `{ guild, channel: voice.id, deny: ['Connect'] }`. Without: adds `allow` and removes `deny` on a
   * role (default: the bot's managed role). Either way the bot is told (CHANNEL_UPDATE / GUILD_ROLE_UPDATE), and
   * later interactions carry the new `app_permissions`.
   */
  setPermissions(opts: SetPermissionsOptions): void {
    const guild = this.#world.guild(opts.guild);
    if (opts.channel !== undefined) {
      this.#world.setOverwrite(opts.channel, opts.target ?? this.#world.bot.id, opts.allow ?? [], opts.deny ?? []);
      this.#gateway.dispatch(GatewayDispatchEvents.ChannelUpdate, this.#world.apiChannel(opts.channel));
      return;
    }
    const role = guild.roles.get(opts.target ?? guild.botRoleId);
    if (!role) throw misuse(`no role ${opts.target ?? ''} in guild ${guild.id}.`);
    role.permissions = (role.permissions | permissionBits(opts.allow ?? [])) & ~permissionBits(opts.deny ?? []);
    this.#gateway.dispatch(GatewayDispatchEvents.GuildRoleUpdate, { guild_id: guild.id, role: this.#world.apiRole(role) });
  }

  /** The bot's effective permissions (guild-wide, or in one channel). */
  botPermissions(guildId: string, channelId?: string): bigint {
    return this.#world.permissionsOf(guildId, this.#world.bot.id, channelId);
  }

  setAttachmentSizeLimit(guildId: string, bytes: number): void {
    this.#world.guild(guildId).attachmentSizeLimit = bytes;
  }

  /** Server-mutes (or unmutes) the bot: its audio stops being audible, as when a moderator mutes it. */
  setBotServerMute(guildId: string, mute: boolean): void {
    const member = this.#world.member(guildId, this.#world.bot.id);
    member.mute = mute;
    this.#gateway.dispatch(GatewayDispatchEvents.GuildMemberUpdate, { ...this.#world.apiMember(guildId, this.#world.bot.id), guild_id: guildId });
    if (this.#world.voiceChannelOf(guildId, this.#world.bot.id)) {
      this.#gateway.dispatch(GatewayDispatchEvents.VoiceStateUpdate, this.#world.apiVoiceState(guildId, this.#world.bot.id, { withMember: true }));
    }
  }

  // ---- gateway --------------------------------------------------------------------------------------------------

  /** Resolves once the bot has identified and been sent READY and its GUILD_CREATEs. */
  waitForBotReady(timeoutMs = 10_000): Promise<{ readonly sessionId: string; readonly intents: number }> {
    return this.#feed.waitUntil(
      () => {
        const s = this.#gateway.activeSession;
        return s ? { sessionId: s.id, intents: s.intents } : undefined;
      },
      timeoutMs,
      'the bot to connect to the gateway and identify',
    );
  }

  /** Makes `channelId` the guild's AFK channel (or none) and tells the bot (GUILD_UPDATE). */
  setAfkChannel(guildId: string, channelId: string | null): void {
    this.#world.guild(guildId).afkChannelId = channelId;
    this.#gateway.dispatch(GatewayDispatchEvents.GuildUpdate, this.#world.apiGuild(guildId));
  }

  /** Sends any dispatch (e.g. a GUILD_UPDATE a test wants the bot to see). Intent filtering still applies. */
  dispatch(event: GatewayDispatchEvents, data: unknown): void {
    this.#gateway.dispatch(event, data);
  }

  /** Closes the bot's gateway socket from Discord's side (4000 → it resumes; 4009 → it re-identifies). */
  closeGateway(code = 4000, reason = ''): void {
    this.#gateway.closeActive(code, reason);
  }

  get gatewayCloses(): readonly GatewayClose[] {
    return this.#gateway.closes;
  }

  /** Every gateway session the bot identified (RESUMEs reuse one). */
  get gatewaySessions(): readonly { readonly id: string; readonly intents: number; readonly identifiedAt: number; readonly connected: boolean }[] {
    return [...this.#gateway.sessions.values()].map((s: GatewaySession) => ({ id: s.id, intents: s.intents, identifiedAt: s.identifiedAt, connected: s.connected }));
  }

  /** Every op the bot sent on the main gateway. */
  get gatewayOps(): readonly { readonly op: number; readonly d: unknown; readonly at: number }[] {
    return this.#gateway.received;
  }

  waitForGatewayClose(predicate: (close: GatewayClose) => boolean = () => true, timeoutMs = 10_000): Promise<GatewayClose> {
    return this.#feed.waitUntil(() => this.#gateway.closes.find(predicate), timeoutMs, 'the gateway socket to close');
  }

  // ---- interactions ---------------------------------------------------------------------------------------------

  get invocations(): readonly Invocation[] {
    return [...this.#interactions.invocations.values()];
  }

  /**
   * A user runs a registered slash command: dispatches INTERACTION_CREATE (type 2) and returns the Invocation that
   * records the bot's answer (`await inv.deferred()`, `await inv.waitForEdit(...)`, `inv.files()`…).
   */
  invokeCommand(opts: InvokeCommandOptions): Invocation {
    return this.#interactions.command(opts, 'command');
  }

  /**
   * A user right-clicks a message → Apps → `name`: dispatches INTERACTION_CREATE (type 2, `data.type` 3) with the
   * message in `resolved.messages`. The command must be registered as a message command.
   */
  invokeMessageCommand(opts: InvokeMessageCommandOptions): Invocation {
    return this.#interactions.messageCommand(opts);
  }

  /** A user types in an autocomplete option; resolves with the bot's choices (rejects if it does not answer in time). */
  autocomplete(opts: AutocompleteOptions): Promise<CommandChoice[]> {
    const inv = this.#interactions.command(opts, 'autocomplete');
    return inv.choices(opts.timeoutMs ?? this.#ackWindowMs);
  }

  /**
   * A user clicks a button or picks from a string select on one of the bot's messages: dispatches
   * INTERACTION_CREATE (type 3). The bot may answer with 4/5 (new message), 6 (deferred update) or 7 (update).
   */
  clickComponent(opts: ClickComponentOptions): Invocation {
    return this.#interactions.component(opts);
  }

  /** Registered commands (global and guild) in the shape Discord returns them. */
  get registeredCommands(): Record<string, unknown>[] {
    return this.#commands.all.map((c: StoredCommand) => this.#commands.toApi(c));
  }

  waitForCommands(predicate: (commands: Record<string, unknown>[]) => boolean = (c) => c.length > 0, timeoutMs = 10_000): Promise<Record<string, unknown>[]> {
    return this.#feed.waitUntil(
      () => {
        const list = this.registeredCommands;
        return predicate(list) ? list : undefined;
      },
      timeoutMs,
      'the bot to register its commands',
    );
  }

  // ---- messages -------------------------------------------------------------------------------------------------

  /**
   * A user picks a file (for a command's attachment option, or to post with a message): returns its id — the
   * option's value, or an entry of `postUserMessage`'s `attachments` — and where it is served. `declaredSize`
   * makes the size Discord reports lie; `delivery` makes the download slow, chunked or without a Content-Length.
   */
  uploadAttachment(opts: UploadOptions): FakeAttachment {
    const upload = this.#uploads.add(opts);
    return { id: upload.id, filename: upload.filename, url: upload.url, size: upload.declaredSize };
  }

  /** How often a user's file was downloaded, how many bytes were sent in all, and how many downloads completed. */
  attachmentDownloads(attachmentId: string): { readonly requests: number; readonly bytesSent: number; readonly completed: number } {
    return { ...this.#uploads.require(attachmentId).downloads };
  }

  /**
   * A user posts a message in a text channel (content, `<@id>`/`<@&id>` mentions in it, files uploaded first).
   * Refused in the test as Discord's client would: not a member, no View Channel / Send Messages (Attach Files for
   * files), an empty message, over 4000 characters, more than 10 files. The bot is not told (no MESSAGE_CREATE:
   * it does not ask for message intents); it sees the message when a command targets it.
   */
  postUserMessage(opts: { user: string; channel: string; content?: string; attachments?: readonly string[] }): APIMessage {
    const channel = this.#world.channel(opts.channel);
    if (channel.kind !== 'text') throw misuse(`channel ${channel.id} is not a text channel.`);
    this.#world.member(channel.guildId, opts.user);
    const perms = this.#world.permissionsOf(channel.guildId, opts.user, channel.id);
    const content = opts.content ?? '';
    const uploads = (opts.attachments ?? []).map((id) => this.#uploads.require(id));
    if (!hasPermission(perms, 'ViewChannel') || !hasPermission(perms, 'SendMessages')) throw misuse(`user ${opts.user} cannot send messages in channel ${channel.id}.`);
    if (uploads.length > 0 && !hasPermission(perms, 'AttachFiles')) throw misuse(`user ${opts.user} cannot attach files in channel ${channel.id}.`);
    if (content.trim() === '' && uploads.length === 0) throw misuse('Discord does not send an empty message.');
    if (content.length > MAX_USER_CONTENT_LENGTH) throw misuse(`a message holds at most ${MAX_USER_CONTENT_LENGTH} characters, got ${content.length}.`);
    if (uploads.length > 10) throw misuse('a message holds at most 10 files.');
    for (const upload of uploads) this.#uploads.attachToChannel(upload, channel.id);
    const files: StoredAttachment[] = uploads.map((u) => ({
      id: u.id,
      filename: u.filename,
      contentType: u.contentType,
      bytes: u.bytes,
      url: u.url,
      declaredSize: u.declaredSize,
    }));
    const message = this.#messages.createFromUser(channel.id, opts.user, content, files);
    this.#feed.notify();
    return this.#messages.toApi(message);
  }

  /** Messages currently in a channel (oldest first), including interaction responses. */
  channelMessages(channelId: string): APIMessage[] {
    return this.#messages.inChannel(channelId).map((m) => this.#messages.toApi(m));
  }

  /** What the bot sent to a user by DM (oldest first); empty if it never opened a DM with them. */
  directMessages(userId: string): APIMessage[] {
    for (const [channelId, recipient] of this.#world.dmChannels) if (recipient === userId) return this.channelMessages(channelId);
    return [];
  }

  /** A message's attachments with their bytes. */
  messageFiles(messageId: string): readonly StoredAttachment[] {
    return this.#messages.get(messageId).attachments;
  }

  waitForChannelMessage(channelId: string, predicate: (message: APIMessage) => boolean = () => true, timeoutMs = 10_000): Promise<APIMessage> {
    return this.#feed.waitUntil(() => this.channelMessages(channelId).find(predicate), timeoutMs, `a message in channel ${channelId} matching the predicate`);
  }

  get restLog(): readonly RestLogEntry[] {
    return this.#rest.log;
  }

  // ---- voice ----------------------------------------------------------------------------------------------------

  userJoinVoice(userId: string, channelId: string): void {
    this.#botVoice.userJoin(userId, channelId);
  }

  userLeaveVoice(userId: string, guildId: string): void {
    this.#botVoice.userLeave(userId, guildId);
  }

  /** The voice channel the bot is in, as Discord sees it (null when not connected). */
  botVoiceChannel(guildId: string): string | null {
    return this.#world.voiceChannelOf(guildId, this.#world.bot.id);
  }

  userVoiceChannel(guildId: string, userId: string): string | null {
    return this.#world.voiceChannelOf(guildId, userId);
  }

  waitForBotVoice(guildId: string, channelId: string | null, timeoutMs = 10_000): Promise<true> {
    return this.#feed.waitUntil(
      () => (this.botVoiceChannel(guildId) === channelId ? true : undefined),
      timeoutMs,
      `the bot to be ${channelId ? `in voice channel ${channelId}` : 'out of voice'} in guild ${guildId}`,
    );
  }

  /** Moves the bot to another voice channel like a moderator would (see BotVoiceControl.move). */
  moveBot(guildId: string, channelId: string, gapMs?: number): Promise<void> {
    return this.#botVoice.move(guildId, channelId, gapMs);
  }

  /** Disconnects the bot from voice like a moderator would (VOICE_STATE_UPDATE channel_id null + close 4014). */
  disconnectBot(guildId: string): void {
    this.#botVoice.disconnect(guildId);
  }

  /** Closes the bot's current voice socket with `code` (4015/<4000: it may resume; 4006: it rejoins; 4014: it is "kicked"). */
  closeVoiceSocket(guildId: string, code: number): void {
    const session = this.#voice.currentSession(guildId);
    if (!session) throw misuse(`the bot has no voice session in guild ${guildId}.`);
    this.#voice.closeSession(session, code);
  }

  /** Every op 4 the bot sent, with what the fake did about it. */
  get voiceRequests(): readonly VoiceRequestRecord[] {
    return this.#botVoice.requests;
  }

  voiceSessions(guildId: string): VoiceSessionInfo[] {
    return this.#voice.sessions
      .filter((s) => s.guildId === guildId)
      .map((s) => ({
        guildId: s.guildId,
        channelId: s.channelId,
        ssrc: s.ssrc,
        mode: s.mode,
        readyAt: s.readyAt,
        ended: s.ended,
        open: s.open,
        maxDaveProtocolVersion: s.maxDaveProtocolVersion,
        closes: [...s.closes],
        speaking: [...s.speaking],
      }));
  }

  /** Resolves once a voice session in the guild has completed the handshake (SESSION_DESCRIPTION sent). */
  waitForVoiceReady(guildId: string, timeoutMs = 10_000): Promise<VoiceSessionInfo> {
    return this.#feed.waitUntil(
      () => this.voiceSessions(guildId).find((s) => s.readyAt !== undefined && !s.ended),
      timeoutMs,
      `a ready voice session in guild ${guildId}`,
    );
  }

  /** The bot's decoded audio frames in a guild, in arrival order. */
  frames(guildId: string, filter: FrameFilter = {}): VoiceFrame[] {
    return this.#voice.frames.filter(
      (f) => f.guildId === guildId && (filter.includeSilence || !f.silence) && (filter.includeInaudible || f.audible),
    );
  }

  waitForFrames(guildId: string, count: number, timeoutMs = 10_000, filter: FrameFilter = {}): Promise<VoiceFrame[]> {
    return this.#feed.waitUntil(
      () => {
        const frames = this.frames(guildId, filter);
        return frames.length >= count ? frames : undefined;
      },
      timeoutMs,
      `${count} voice frames in guild ${guildId}`,
    );
  }

  /** Everything the bot played in the guild as one PCM buffer (48 kHz stereo s16 interleaved). */
  receivedAudio(guildId: string, filter: FrameFilter = {}): Int16Array {
    const frames = this.frames(guildId, filter);
    const out = new Int16Array(frames.reduce((n, f) => n + f.pcm.length, 0));
    let offset = 0;
    for (const f of frames) {
      out.set(f.pcm, offset);
      offset += f.pcm.length;
    }
    return out;
  }

  /** `performance.now()` when the first audible, non-silent frame arrived (time-to-first-audio). */
  firstPacketAt(guildId: string): number | undefined {
    return this.frames(guildId)[0]?.receivedAt;
  }

  /** UDP datagrams the fake could not attribute or decrypt (should stay 0). */
  get voicePacketErrors(): { readonly stray: number; readonly decryptFailures: number } {
    return { stray: this.#voice.strayPackets, decryptFailures: this.#voice.decryptFailures };
  }

  // ---- misc -----------------------------------------------------------------------------------------------------

  /** Things a real Discord would have refused or ignored; a healthy run leaves this empty. */
  get problems(): readonly string[] {
    return this.#diag.problems;
  }

  /** Waits for any condition over the fake's state (re-checked whenever anything is recorded). */
  waitFor<T>(probe: () => T | undefined, timeoutMs: number, what: string): Promise<T> {
    return this.#feed.waitUntil(probe, timeoutMs, what);
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    this.#feed.dispose();
    this.#gateway.close();
    await Promise.all([this.#rest.close(), this.#voice.close()]);
    await this.#tls.dispose();
  }


}
