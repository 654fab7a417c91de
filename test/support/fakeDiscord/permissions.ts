/**
 * Discord's permission arithmetic, done the way the API documents it ("Permission Overwrites": base permissions
 * from @everyone and the member's roles, administrator and owner short-circuits, then the channel's @everyone,
 * role and member overwrites in that order). The fake needs it for three things a real Discord decides with it:
 * `app_permissions` / `member.permissions` in interactions, whether an op-4 voice join is honoured (Connect), and
 * whether the bot's audio is heard (Speak) or its channel messages are accepted (ViewChannel/SendMessages/AttachFiles).
 */
import { OverwriteType, PermissionFlagsBits } from 'discord-api-types/v10';

export type PermissionName = keyof typeof PermissionFlagsBits;

export const ALL_PERMISSIONS: bigint = Object.values(PermissionFlagsBits).reduce((acc, bit) => acc | bit, 0n);

export function permissionBits(names: readonly PermissionName[]): bigint {
  return names.reduce((acc, name) => acc | PermissionFlagsBits[name], 0n);
}

export function hasPermission(bits: bigint, name: PermissionName): boolean {
  return (bits & PermissionFlagsBits[name]) === PermissionFlagsBits[name];
}

/** What an ordinary member may do in a fresh guild: enough to use a narration bot, nothing administrative. */
export const DEFAULT_EVERYONE_PERMISSIONS = permissionBits([
  'ViewChannel',
  'SendMessages',
  'ReadMessageHistory',
  'EmbedLinks',
  'AttachFiles',
  'AddReactions',
  'UseApplicationCommands',
  'Connect',
  'Speak',
  'UseVAD',
  'SendVoiceMessages',
]);

export interface OverwriteRecord {
  readonly id: string;
  readonly type: OverwriteType;
  readonly allow: bigint;
  readonly deny: bigint;
}

export interface PermissionSubject {
  readonly userId: string;
  readonly roleIds: readonly string[];
}

export interface PermissionContext {
  readonly guildId: string;
  readonly ownerId: string;
  /** Role id → permission bits; the @everyone role's id is the guild id. */
  readonly rolePermissions: ReadonlyMap<string, bigint>;
}

export function basePermissions(ctx: PermissionContext, subject: PermissionSubject): bigint {
  if (subject.userId === ctx.ownerId) return ALL_PERMISSIONS;
  let bits = ctx.rolePermissions.get(ctx.guildId) ?? 0n;
  for (const roleId of subject.roleIds) bits |= ctx.rolePermissions.get(roleId) ?? 0n;
  return hasPermission(bits, 'Administrator') ? ALL_PERMISSIONS : bits;
}

export function channelPermissions(
  ctx: PermissionContext,
  subject: PermissionSubject,
  overwrites: readonly OverwriteRecord[],
): bigint {
  const base = basePermissions(ctx, subject);
  if (hasPermission(base, 'Administrator')) return ALL_PERMISSIONS;
  let bits = base;
  const everyone = overwrites.find((o) => o.id === ctx.guildId);
  if (everyone) bits = (bits & ~everyone.deny) | everyone.allow;
  let roleAllow = 0n;
  let roleDeny = 0n;
  for (const o of overwrites) {
    if (o.type === OverwriteType.Role && o.id !== ctx.guildId && subject.roleIds.includes(o.id)) {
      roleAllow |= o.allow;
      roleDeny |= o.deny;
    }
  }
  bits = (bits & ~roleDeny) | roleAllow;
  const own = overwrites.find((o) => o.type === OverwriteType.Member && o.id === subject.userId);
  if (own) bits = (bits & ~own.deny) | own.allow;
  // Without ViewChannel a channel is invisible, and every other permission in it is moot.
  return hasPermission(bits, 'ViewChannel') ? bits : 0n;
}
