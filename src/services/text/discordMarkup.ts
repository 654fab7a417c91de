/**
 * Discord's angle-bracket markup: mentions, custom emoji, timestamps, command mentions, server-guide links.
 *
 * - `<@id>` / `<@!id>` users, `<@&id>` roles, `<#id>` channels become the display name the caller resolves
 *   (without Discord's `@`/`#` prefix, which nobody says); unresolved ones are dropped, because a snowflake
 *   read aloud is 18 digits of noise.
 * - Custom emoji `<:name:id>` / `<a:name:id>` are dropped like Unicode emoji: names such as `pepe_laugh`
 *   read as gibberish, and listeners expect emoji to be silent.
 * - Timestamps `<t:unix:style>` become Vietnamese date/time words (see timestamp.ts).
 * - Command mentions `</name sub:id>` become the command's words; server-guide links (`<id:customize>`) go.
 *
 * Replacements are handed to `keep`, which shields them from the markdown rules applied later (a display
 * name like `__bob__` must not lose its underscores).
 */
import { formatDiscordTimestamp, isRepresentableTimestamp, type TimestampStyle } from './timestamp.js';

export type MentionKind = 'user' | 'role' | 'channel';
export type ResolveMention = (kind: MentionKind, id: string) => string | undefined;

export interface DiscordMarkupOptions {
  readonly resolveMention?: ResolveMention | undefined;
  readonly timeZone: string;
  /** Protects a replacement from later rules; returns the token to put in the text ('' for nothing). */
  readonly keep: (literal: string) => string;
}

const MARKUP =
  /<(?:@(!|&)?(\d{1,20})|#(\d{1,20})|a?:\w{1,32}:\d{1,20}|t:(-?\d{1,15})(?::([tTdDfFR]))?|\/([-_\p{L}\p{N} ]{1,100}):\d{1,20}|id:(?:customize|browse|guide|home|linked-roles(?::\d{1,20})?))>/gu;

/** The timestamp form of MARKUP alone, for counting before anything is spelled out. */
const TIMESTAMP = /<t:(-?\d{1,15})(?::[tTdDfFR])?>/g;

/**
 * How many timestamps in `text` would be spelled out (representable dates), counting no further than `upTo` (a
 * hostile text may hold 140 000: the caller only needs to know it is over its maximum).
 */
export function countSpelledTimestamps(text: string, upTo = Number.POSITIVE_INFINITY): number {
  let count = 0;
  for (const match of text.matchAll(TIMESTAMP)) {
    if (isRepresentableTimestamp(Number(match[1])) && ++count >= upTo) break;
  }
  return count;
}

export function replaceDiscordMarkup(text: string, options: DiscordMarkupOptions): string {
  const { resolveMention, timeZone, keep } = options;
  return text.replace(
    MARKUP,
    (
      _whole: string,
      userOrRoleMark: string | undefined,
      userOrRoleId: string | undefined,
      channelId: string | undefined,
      unixSeconds: string | undefined,
      style: string | undefined,
      command: string | undefined,
    ): string => {
      if (userOrRoleId !== undefined) {
        const kind: MentionKind = userOrRoleMark === '&' ? 'role' : 'user';
        return keep(resolveMention?.(kind, userOrRoleId) ?? '');
      }
      if (channelId !== undefined) return keep(resolveMention?.('channel', channelId) ?? '');
      if (unixSeconds !== undefined) {
        return keep(formatDiscordTimestamp(Number(unixSeconds), style as TimestampStyle | undefined, timeZone));
      }
      if (command !== undefined) return keep(command.replace(/[-_]/g, ' '));
      return ''; // custom emoji, server-guide links
    },
  );
}
