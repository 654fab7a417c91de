/**
 * Voice signalling on the main gateway, as Discord does it for the bot: op 4 (join/move/leave) is answered with
 * VOICE_STATE_UPDATE and then VOICE_SERVER_UPDATE carrying a fresh token and the fake voice endpoint. A join the
 * bot may not make (no Connect/ViewChannel, channel full) is silently ignored, as Discord ignores it — the bot's
 * connection then stays "signalling" until its own timeout. Also the server-side events a test scripts: moving the
 * bot, kicking it (VOICE_STATE_UPDATE with channel_id null, then the voice socket closes with 4014), and users
 * entering or leaving voice channels.
 */
import { randomBytes } from 'node:crypto';
import { GatewayDispatchEvents } from 'discord-api-types/v10';
import { VoiceCloseCodes } from 'discord-api-types/voice/v8';
import { NarratorError } from '../../../src/services/errors.js';
import type { ChangeFeed } from './changeFeed.js';
import type { Diagnostics } from './diagnostics.js';
import type { GatewayServer, GatewaySession, VoiceStateRequest } from './gatewayServer.js';
import { hasPermission } from './permissions.js';
import type { VoiceServer } from './voiceServer.js';
import type { World } from './world.js';

export interface VoiceRequestRecord {
  readonly guildId: string;
  readonly channelId: string | null;
  readonly selfMute: boolean;
  readonly selfDeaf: boolean;
  readonly at: number;
  readonly outcome: 'joined' | 'left' | 'ignored';
  /** Why an op 4 was ignored. */
  readonly reason?: string;
}

export class BotVoiceControl {
  readonly requests: VoiceRequestRecord[] = [];

  constructor(
    private readonly world: World,
    private readonly gateway: GatewayServer,
    private readonly voice: VoiceServer,
    private readonly feed: ChangeFeed,
    private readonly diag: Diagnostics,
  ) {}

  /** Op 4 from the bot. */
  onRequest(session: GatewaySession, request: VoiceStateRequest): void {
    const bot = this.world.bot.id;
    const base = { guildId: request.guild_id, channelId: request.channel_id, selfMute: request.self_mute, selfDeaf: request.self_deaf, at: performance.now() };
    const ignore = (reason: string): void => {
      this.diag.problem(`voice: ignored the bot's op 4 for guild ${request.guild_id}: ${reason}`);
      this.requests.push({ ...base, outcome: 'ignored', reason });
      this.feed.notify();
    };
    const guild = this.world.guilds.get(request.guild_id);
    if (!guild) return ignore('unknown guild');

    if (request.channel_id === null) {
      this.world.setVoiceState(guild.id, bot, null, { sessionId: session.id });
      this.gateway.dispatch(GatewayDispatchEvents.VoiceStateUpdate, this.world.apiVoiceState(guild.id, bot, { withMember: true, sessionId: session.id }));
      this.voice.revoke(guild.id, bot);
      this.requests.push({ ...base, outcome: 'left' });
      this.feed.notify();
      return;
    }

    const channel = guild.channels.get(request.channel_id);
    if (!channel || channel.kind !== 'voice') return ignore(`channel ${request.channel_id} is not a voice channel of this guild`);
    const perms = this.world.permissionsOf(guild.id, bot, channel.id);
    if (!hasPermission(perms, 'ViewChannel') || !hasPermission(perms, 'Connect')) return ignore('the bot lacks Connect (or ViewChannel) in that channel');
    const others = this.world.usersInVoiceChannel(channel.id).filter((id) => id !== bot);
    if (channel.userLimit > 0 && others.length >= channel.userLimit && !hasPermission(perms, 'MoveMembers')) {
      return ignore('the channel is full');
    }
    this.world.setVoiceState(guild.id, bot, channel.id, { sessionId: session.id, selfMute: request.self_mute, selfDeaf: request.self_deaf });
    this.gateway.dispatch(GatewayDispatchEvents.VoiceStateUpdate, this.world.apiVoiceState(guild.id, bot, { withMember: true }));
    this.#sendServer(guild.id, channel.id, session.id);
    this.requests.push({ ...base, outcome: 'joined' });
    this.feed.notify();
  }

  /**
   * Moves the bot like a moderator dragging it: VOICE_STATE_UPDATE with the new channel, the old voice socket
   * closed with 4014, then (after `gapMs`) a VOICE_SERVER_UPDATE for the new channel.
   */
  async move(guildId: string, channelId: string, gapMs = 50): Promise<void> {
    const bot = this.world.bot.id;
    const state = this.world.guild(guildId).voiceStates.get(bot);
    if (!state) throw new NarratorError('user', 'fake_discord_bot_not_in_voice', `Fake Discord: the bot is not in a voice channel of guild ${guildId}.`);
    this.world.setVoiceState(guildId, bot, channelId, { sessionId: state.sessionId, selfMute: state.selfMute, selfDeaf: state.selfDeaf });
    this.gateway.dispatch(GatewayDispatchEvents.VoiceStateUpdate, this.world.apiVoiceState(guildId, bot, { withMember: true }));
    const current = this.voice.currentSession(guildId);
    if (current) this.voice.closeSession(current, VoiceCloseCodes.Disconnected);
    await new Promise((resolve) => setTimeout(resolve, gapMs));
    this.#sendServer(guildId, channelId, state.sessionId);
    this.feed.notify();
  }

  /** Kicks the bot out of voice ("Disconnect" in the client): state with channel_id null, voice socket closed 4014. */
  disconnect(guildId: string): void {
    const bot = this.world.bot.id;
    const state = this.world.guild(guildId).voiceStates.get(bot);
    if (!state) throw new NarratorError('user', 'fake_discord_bot_not_in_voice', `Fake Discord: the bot is not in a voice channel of guild ${guildId}.`);
    this.world.setVoiceState(guildId, bot, null, { sessionId: state.sessionId });
    this.gateway.dispatch(GatewayDispatchEvents.VoiceStateUpdate, this.world.apiVoiceState(guildId, bot, { withMember: true, sessionId: state.sessionId }));
    this.voice.revoke(guildId, bot);
    this.feed.notify();
  }

  /** A user joins (or switches to) a voice channel. */
  userJoin(userId: string, channelId: string): void {
    const channel = this.world.channel(channelId);
    const previous = this.world.voiceChannelOf(channel.guildId, userId);
    this.world.setVoiceState(channel.guildId, userId, channelId, { sessionId: randomBytes(16).toString('hex') });
    this.gateway.dispatch(GatewayDispatchEvents.VoiceStateUpdate, this.world.apiVoiceState(channel.guildId, userId, { withMember: true }));
    if (previous && previous !== channelId) this.voice.announce(previous, userId, false);
    this.voice.announce(channelId, userId, true);
    this.feed.notify();
  }

  userLeave(userId: string, guildId: string): void {
    const state = this.world.guild(guildId).voiceStates.get(userId);
    if (!state) return;
    this.world.setVoiceState(guildId, userId, null, { sessionId: state.sessionId });
    this.gateway.dispatch(GatewayDispatchEvents.VoiceStateUpdate, this.world.apiVoiceState(guildId, userId, { withMember: true, sessionId: state.sessionId }));
    this.voice.announce(state.channelId, userId, false);
    this.feed.notify();
  }

  #sendServer(guildId: string, channelId: string, sessionId: string): void {
    const token = randomBytes(8).toString('hex');
    this.voice.grant({ guildId, channelId, userId: this.world.bot.id, sessionId, token });
    this.gateway.dispatch(GatewayDispatchEvents.VoiceServerUpdate, { token, guild_id: guildId, endpoint: this.voice.endpoint });
  }
}
