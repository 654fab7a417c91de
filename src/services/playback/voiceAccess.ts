/**
 * Who may do what with a server's voice playback, decided from Discord's cached state before anything is
 * deferred or synthesized — so a missing permission answers at once with a specific message instead of a
 * narration that is paid for and then cannot be heard.
 */
import { ChannelType, PermissionFlagsBits, type GuildMember, type VoiceBasedChannel } from 'discord.js';
import type { GuildSession } from './guildSession.js';

export type VoiceAccess =
  | { readonly ok: true; readonly channel: VoiceBasedChannel }
  | { readonly ok: false; readonly problem: 'not_in_voice' }
  | { readonly ok: false; readonly problem: 'stage_channel'; readonly channelId: string }
  | {
      readonly ok: false;
      readonly problem: 'missing_permissions';
      readonly channelId: string;
      readonly missing: { readonly view: boolean; readonly connect: boolean; readonly speak: boolean };
    }
  | { readonly ok: false; readonly problem: 'channel_full'; readonly channelId: string };

/** Can the bot (`me`) join the voice channel `member` is in, and speak there? */
export function checkVoiceAccess(member: GuildMember, me: GuildMember | null): VoiceAccess {
  const channel = member.voice.channel;
  if (!channel) return { ok: false, problem: 'not_in_voice' };
  // In a stage the bot would be an audience member, muted until a moderator invites it to speak.
  if (channel.type === ChannelType.GuildStageVoice) return { ok: false, problem: 'stage_channel', channelId: channel.id };
  const perms = me ? channel.permissionsFor(me) : null;
  const missing = {
    view: !perms?.has(PermissionFlagsBits.ViewChannel),
    connect: !perms?.has(PermissionFlagsBits.Connect),
    speak: !perms?.has(PermissionFlagsBits.Speak),
  };
  if (missing.view || missing.connect || missing.speak) {
    return { ok: false, problem: 'missing_permissions', channelId: channel.id, missing };
  }
  const alreadyThere = me?.voice.channelId === channel.id;
  if (channel.full && !alreadyThere && !perms?.has(PermissionFlagsBits.MoveMembers)) {
    return { ok: false, problem: 'channel_full', channelId: channel.id };
  }
  return { ok: true, channel };
}

/**
 * /stop, /skip and /leave affect everyone listening: allowed to members in the bot's voice channel, and to
 * moderators (Move Members) from anywhere — not to someone outside the channel cutting others off.
 */
export function mayControl(member: GuildMember, session: GuildSession): boolean {
  return member.voice.channelId === session.channelId || member.permissions.has(PermissionFlagsBits.MoveMembers);
}
