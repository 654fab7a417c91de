/**
 * The fake Discord's state of the world: users, guilds, roles, channels, members and voice states, plus the
 * serializers that turn those records into the exact API objects (discord-api-types/v10) the gateway and REST
 * send. Records are plain mutable data owned by this class; every other part of the fake reads them through
 * these methods, so "what Discord believes" lives in one place and payloads are always built from it.
 */
import {
  ChannelType,
  GatewayIntentBits,
  GuildDefaultMessageNotifications,
  GuildExplicitContentFilter,
  GuildMFALevel,
  GuildNSFWLevel,
  GuildPremiumTier,
  GuildSystemChannelFlags,
  GuildVerificationLevel,
  Locale,
  OverwriteType,
} from 'discord-api-types/v10';
import type {
  APIGuild,
  APIGuildMember,
  APIGuildVoiceChannel,
  APIOverwrite,
  APIRole,
  APITextChannel,
  APIUser,
  APIVoiceState,
  GatewayGuildCreateDispatchData,
  GuildMemberFlags,
  RoleFlags,
} from 'discord-api-types/v10';
import { NarratorError } from '../../../src/services/errors.js';
import { SnowflakeFactory } from './ids.js';
import { DEFAULT_EVERYONE_PERMISSIONS, channelPermissions, basePermissions, permissionBits } from './permissions.js';
import type { OverwriteRecord, PermissionContext, PermissionName } from './permissions.js';

export type ChannelKind = 'text' | 'voice';

export interface UserRecord {
  readonly id: string;
  readonly username: string;
  readonly globalName: string | null;
  readonly bot: boolean;
}

export interface RoleRecord {
  readonly id: string;
  name: string;
  permissions: bigint;
  position: number;
  readonly managed: boolean;
  readonly botId?: string;
}

export interface ChannelRecord {
  readonly id: string;
  readonly guildId: string;
  readonly kind: ChannelKind;
  name: string;
  position: number;
  overwrites: OverwriteRecord[];
  /** 0 = unlimited (voice channels only). */
  userLimit: number;
}

export interface MemberRecord {
  readonly userId: string;
  roleIds: string[];
  readonly joinedAt: string;
  nick: string | null;
  /** Server mute / deafen (set by moderators, not by the user). */
  mute: boolean;
  deaf: boolean;
}

export interface VoiceStateRecord {
  readonly userId: string;
  channelId: string;
  sessionId: string;
  selfMute: boolean;
  selfDeaf: boolean;
}

export interface GuildRecord {
  readonly id: string;
  name: string;
  readonly ownerId: string;
  readonly preferredLocale: Locale;
  /** Bytes per attachment, sent to the bot as `attachment_size_limit` and enforced on uploads. */
  attachmentSizeLimit: number;
  /** The AFK voice channel (Discord moves idle members there), or null. */
  afkChannelId: string | null;
  readonly botRoleId: string;
  readonly roles: Map<string, RoleRecord>;
  readonly channels: Map<string, ChannelRecord>;
  readonly members: Map<string, MemberRecord>;
  readonly voiceStates: Map<string, VoiceStateRecord>;
}

/** Default per-file upload limit for bots since 2025-01 (10 MiB). */
export const DEFAULT_ATTACHMENT_LIMIT = 10 * 1024 * 1024;

function apiOverwrite(o: OverwriteRecord): APIOverwrite {
  return { id: o.id, type: o.type, allow: o.allow.toString(), deny: o.deny.toString() };
}

export class World {
  readonly ids = new SnowflakeFactory();
  readonly users = new Map<string, UserRecord>();
  readonly guilds = new Map<string, GuildRecord>();
  /** The bot's DM channels: channel id → the user at the other end. */
  readonly dmChannels = new Map<string, string>();
  readonly bot: UserRecord;

  constructor(botName: string) {
    this.bot = this.createUser({ username: botName, bot: true });
  }

  /** Modern applications share their id with their bot user. */
  get applicationId(): string {
    return this.bot.id;
  }

  createUser(opts: { username: string; globalName?: string; bot?: boolean }): UserRecord {
    const user: UserRecord = {
      id: this.ids.next(),
      username: opts.username,
      globalName: opts.globalName ?? null,
      bot: opts.bot ?? false,
    };
    this.users.set(user.id, user);
    return user;
  }

  createGuild(opts: { name: string; id?: string; ownerId?: string; locale?: Locale; attachmentSizeLimit?: number }): GuildRecord {
    // A chosen id: the same server seen by two fakes (two bot processes sharing one database).
    const id = opts.id ?? this.ids.next();
    const ownerId = opts.ownerId ?? this.createUser({ username: `${opts.name} owner` }).id;
    this.user(ownerId);
    const botRoleId = this.ids.next();
    const guild: GuildRecord = {
      id,
      name: opts.name,
      ownerId,
      preferredLocale: opts.locale ?? Locale.EnglishUS,
      attachmentSizeLimit: opts.attachmentSizeLimit ?? DEFAULT_ATTACHMENT_LIMIT,
      afkChannelId: null,
      botRoleId,
      roles: new Map(),
      channels: new Map(),
      members: new Map(),
      voiceStates: new Map(),
    };
    // The @everyone role shares the guild's id; the bot's managed role is what the invite's permissions became.
    guild.roles.set(id, { id, name: '@everyone', permissions: DEFAULT_EVERYONE_PERMISSIONS, position: 0, managed: false });
    guild.roles.set(botRoleId, {
      id: botRoleId,
      name: this.bot.username,
      permissions: DEFAULT_EVERYONE_PERMISSIONS,
      position: 1,
      managed: true,
      botId: this.bot.id,
    });
    this.guilds.set(id, guild);
    this.addMember(id, ownerId);
    this.addMember(id, this.bot.id, [botRoleId]);
    return guild;
  }

  createChannel(guildId: string, opts: { name: string; kind: ChannelKind; userLimit?: number }): ChannelRecord {
    const guild = this.guild(guildId);
    const channel: ChannelRecord = {
      id: this.ids.next(),
      guildId,
      kind: opts.kind,
      name: opts.name,
      position: [...guild.channels.values()].filter((c) => c.kind === opts.kind).length,
      overwrites: [],
      userLimit: opts.userLimit ?? 0,
    };
    guild.channels.set(channel.id, channel);
    return channel;
  }

  addMember(guildId: string, userId: string, roleIds: string[] = []): MemberRecord {
    const guild = this.guild(guildId);
    this.user(userId);
    const existing = guild.members.get(userId);
    if (existing) return existing;
    const member: MemberRecord = {
      userId,
      roleIds,
      joinedAt: SnowflakeFactory.timestampOf(this.ids.next()),
      nick: null,
      mute: false,
      deaf: false,
    };
    guild.members.set(userId, member);
    return member;
  }

  user(id: string): UserRecord {
    const user = this.users.get(id);
    if (!user) throw new NarratorError('user', 'fake_discord_unknown_user', `Fake Discord: no user with id ${id}.`);
    return user;
  }

  guild(id: string): GuildRecord {
    const guild = this.guilds.get(id);
    if (!guild) throw new NarratorError('user', 'fake_discord_unknown_guild', `Fake Discord: no guild with id ${id}.`);
    return guild;
  }

  channel(id: string): ChannelRecord {
    const channel = this.findChannel(id);
    if (!channel) throw new NarratorError('user', 'fake_discord_unknown_channel', `Fake Discord: no channel with id ${id}.`);
    return channel;
  }

  /** The bot's DM channel with a user (made on first use, like POST /users/@me/channels). */
  openDm(userId: string): string {
    this.user(userId);
    for (const [channelId, recipient] of this.dmChannels) if (recipient === userId) return channelId;
    const id = this.ids.next();
    this.dmChannels.set(id, userId);
    return id;
  }

  findChannel(id: string): ChannelRecord | undefined {
    for (const guild of this.guilds.values()) {
      const channel = guild.channels.get(id);
      if (channel) return channel;
    }
    return undefined;
  }

  member(guildId: string, userId: string): MemberRecord {
    const member = this.guild(guildId).members.get(userId);
    if (!member) {
      throw new NarratorError('user', 'fake_discord_not_member', `Fake Discord: user ${userId} is not a member of guild ${guildId}.`);
    }
    return member;
  }

  /** Permissions of a member in the guild (no channel) or in one channel (overwrites applied). */
  permissionsOf(guildId: string, userId: string, channelId?: string): bigint {
    const guild = this.guild(guildId);
    const member = this.member(guildId, userId);
    const ctx: PermissionContext = {
      guildId,
      ownerId: guild.ownerId,
      rolePermissions: new Map([...guild.roles.values()].map((r) => [r.id, r.permissions])),
    };
    const subject = { userId, roleIds: member.roleIds };
    if (channelId === undefined) return basePermissions(ctx, subject);
    return channelPermissions(ctx, subject, this.channel(channelId).overwrites);
  }

  /** Moves a user in or out of voice; returns the new state (null when they left). */
  setVoiceState(
    guildId: string,
    userId: string,
    channelId: string | null,
    opts: { sessionId: string; selfMute?: boolean; selfDeaf?: boolean },
  ): VoiceStateRecord | null {
    const guild = this.guild(guildId);
    this.member(guildId, userId);
    if (channelId === null) {
      guild.voiceStates.delete(userId);
      return null;
    }
    const channel = this.channel(channelId);
    if (channel.guildId !== guildId || channel.kind !== 'voice') {
      throw new NarratorError('user', 'fake_discord_not_voice', `Fake Discord: channel ${channelId} is not a voice channel of guild ${guildId}.`);
    }
    const state: VoiceStateRecord = {
      userId,
      channelId,
      sessionId: opts.sessionId,
      selfMute: opts.selfMute ?? false,
      selfDeaf: opts.selfDeaf ?? false,
    };
    guild.voiceStates.set(userId, state);
    return state;
  }

  voiceChannelOf(guildId: string, userId: string): string | null {
    return this.guild(guildId).voiceStates.get(userId)?.channelId ?? null;
  }

  usersInVoiceChannel(channelId: string): string[] {
    const channel = this.channel(channelId);
    return [...this.guild(channel.guildId).voiceStates.values()].filter((s) => s.channelId === channelId).map((s) => s.userId);
  }

  // ---- serializers -------------------------------------------------------------------------------------------

  apiUser(id: string): APIUser {
    const u = this.user(id);
    return {
      id: u.id,
      username: u.username,
      discriminator: '0',
      global_name: u.globalName,
      avatar: null,
      ...(u.bot ? { bot: true } : {}),
    };
  }

  apiMember(guildId: string, userId: string): APIGuildMember {
    const m = this.member(guildId, userId);
    return {
      user: this.apiUser(userId),
      nick: m.nick,
      roles: [...m.roleIds],
      joined_at: m.joinedAt,
      deaf: m.deaf,
      mute: m.mute,
      // No member flags: 0 is not a named enum member.
      flags: 0 as GuildMemberFlags,
      avatar: null,
      pending: false,
      premium_since: null,
      communication_disabled_until: null,
    };
  }

  apiRole(role: RoleRecord): APIRole {
    return {
      id: role.id,
      name: role.name,
      color: 0,
      colors: { primary_color: 0, secondary_color: null, tertiary_color: null },
      hoist: false,
      position: role.position,
      permissions: role.permissions.toString(),
      managed: role.managed,
      mentionable: false,
      flags: 0 as RoleFlags,
      ...(role.botId ? { tags: { bot_id: role.botId } } : {}),
    };
  }

  apiChannel(channelId: string): APITextChannel | APIGuildVoiceChannel {
    const c = this.channel(channelId);
    const common = {
      id: c.id,
      guild_id: c.guildId,
      name: c.name,
      position: c.position,
      permission_overwrites: c.overwrites.map(apiOverwrite),
      parent_id: null,
      nsfw: false,
      flags: 0,
      rate_limit_per_user: 0,
      last_message_id: null,
    };
    if (c.kind === 'voice') {
      return { ...common, type: ChannelType.GuildVoice, bitrate: 64_000, user_limit: c.userLimit, rtc_region: null };
    }
    return { ...common, type: ChannelType.GuildText, topic: null };
  }

  /** A user's voice state; after they left, `channel_id` is null and `sessionId` says which session left. */
  apiVoiceState(guildId: string, userId: string, opts: { withMember: boolean; sessionId?: string }): APIVoiceState {
    const guild = this.guild(guildId);
    const state = guild.voiceStates.get(userId);
    const member = this.member(guildId, userId);
    return {
      guild_id: guildId,
      channel_id: state?.channelId ?? null,
      user_id: userId,
      session_id: state?.sessionId ?? opts.sessionId ?? '',
      deaf: member.deaf,
      mute: member.mute,
      self_deaf: state?.selfDeaf ?? false,
      self_mute: state?.selfMute ?? false,
      self_video: false,
      suppress: false,
      request_to_speak_timestamp: null,
      // discord.js hands a state update to the voice adapter only if it can resolve the member: send it whole.
      ...(opts.withMember ? { member: this.apiMember(guildId, userId) } : {}),
    };
  }

  apiGuild(guildId: string): APIGuild {
    const g = this.guild(guildId);
    return {
      id: g.id,
      name: g.name,
      icon: null,
      splash: null,
      discovery_splash: null,
      banner: null,
      description: null,
      owner_id: g.ownerId,
      afk_channel_id: g.afkChannelId,
      afk_timeout: 300,
      verification_level: GuildVerificationLevel.None,
      default_message_notifications: GuildDefaultMessageNotifications.OnlyMentions,
      explicit_content_filter: GuildExplicitContentFilter.Disabled,
      roles: [...g.roles.values()].map((r) => this.apiRole(r)),
      emojis: [],
      stickers: [],
      features: [],
      mfa_level: GuildMFALevel.None,
      application_id: null,
      system_channel_id: null,
      system_channel_flags: GuildSystemChannelFlags.SuppressJoinNotifications,
      rules_channel_id: null,
      vanity_url_code: null,
      premium_tier: GuildPremiumTier.None,
      premium_subscription_count: 0,
      preferred_locale: g.preferredLocale,
      public_updates_channel_id: null,
      nsfw_level: GuildNSFWLevel.Default,
      premium_progress_bar_enabled: false,
      hub_type: null,
      safety_alerts_channel_id: null,
      incidents_data: null,
    };
  }

  /**
   * GUILD_CREATE as the bot sees it. Like Discord, `voice_states` is filled only with the GuildVoiceStates intent
   * and the member list is the bot plus the members in voice unless the privileged GuildMembers intent is on.
   */
  guildCreate(guildId: string, intents: number): GatewayGuildCreateDispatchData {
    const g = this.guild(guildId);
    const wantsVoice = (intents & GatewayIntentBits.GuildVoiceStates) !== 0;
    const wantsMembers = (intents & GatewayIntentBits.GuildMembers) !== 0;
    const memberIds = wantsMembers
      ? [...g.members.keys()]
      : [...new Set([this.bot.id, ...(wantsVoice ? g.voiceStates.keys() : [])])];
    const botMember = this.member(guildId, this.bot.id);
    return {
      ...this.apiGuild(guildId),
      joined_at: botMember.joinedAt,
      large: false,
      unavailable: false,
      member_count: g.members.size,
      voice_states: wantsVoice
        ? [...g.voiceStates.keys()].map((userId) => {
            const { guild_id: _omitted, ...state } = this.apiVoiceState(guildId, userId, { withMember: false });
            return state;
          })
        : [],
      members: memberIds.map((id) => this.apiMember(guildId, id)),
      channels: [...g.channels.keys()].map((id) => this.apiChannel(id)),
      threads: [],
      presences: [],
      stage_instances: [],
      guild_scheduled_events: [],
      soundboard_sounds: [],
    };
  }

  /** Replaces (or removes, when both are empty) one overwrite on a channel. */
  setOverwrite(channelId: string, targetId: string, allow: readonly PermissionName[], deny: readonly PermissionName[]): void {
    const channel = this.channel(channelId);
    const guild = this.guild(channel.guildId);
    const type = guild.roles.has(targetId) ? OverwriteType.Role : OverwriteType.Member;
    if (type === OverwriteType.Member) this.member(guild.id, targetId);
    channel.overwrites = channel.overwrites.filter((o) => o.id !== targetId);
    if (allow.length > 0 || deny.length > 0) {
      channel.overwrites.push({ id: targetId, type, allow: permissionBits(allow), deny: permissionBits(deny) });
    }
  }
}
