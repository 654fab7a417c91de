/**
 * Discord timestamps (`<t:1700000000:F>`) rendered as Vietnamese words a narrator can say.
 *
 * Discord shows a timestamp in each viewer's own time zone; a narration has one listener group, so the
 * caller picks the zone (default Asia/Ho_Chi_Minh, the audience of this bot). The relative style (`R`,
 * "3 hours ago") is rendered as an absolute date and time: the audio may be played or replayed later, when
 * "3 hours ago" would be wrong. Numbers stay digits; the worker's normalizer reads them.
 */
import { NarratorError } from '../errors.js';

export type TimestampStyle = 't' | 'T' | 'd' | 'D' | 'f' | 'F' | 'R';

export const DEFAULT_TIME_ZONE = 'Asia/Ho_Chi_Minh';

const WEEKDAYS = ['Chủ nhật', 'thứ Hai', 'thứ Ba', 'thứ Tư', 'thứ Năm', 'thứ Sáu', 'thứ Bảy'] as const;

interface Parts {
  year: number;
  month: number;
  day: number;
  hour: number;
  minute: number;
  second: number;
  weekday: number;
}

const formatters = new Map<string, Intl.DateTimeFormat>();

function formatterFor(timeZone: string): Intl.DateTimeFormat {
  let formatter = formatters.get(timeZone);
  if (!formatter) {
    try {
      formatter = new Intl.DateTimeFormat('en-US', {
        timeZone,
        hourCycle: 'h23',
        year: 'numeric',
        month: 'numeric',
        day: 'numeric',
        hour: 'numeric',
        minute: 'numeric',
        second: 'numeric',
        weekday: 'short',
      });
    } catch (cause) {
      throw new NarratorError('config', 'invalid_time_zone', `Unknown time zone "${timeZone}" for Discord timestamps.`, undefined, {
        cause,
      });
    }
    formatters.set(timeZone, formatter);
  }
  return formatter;
}

/** Throws NarratorError('config') when the time zone is unknown to this runtime's ICU data. */
export function assertTimeZone(timeZone: string): void {
  formatterFor(timeZone);
}

const WEEKDAY_INDEX: Record<string, number> = { Sun: 0, Mon: 1, Tue: 2, Wed: 3, Thu: 4, Fri: 5, Sat: 6 };

/**
 * Most timestamps one text may have spelled out. Each costs an ICU call (~20 µs, several times that on a loaded
 * machine) on the event loop every server's audio shares: a file of 100 000 `<t:…>` would hold it for seconds. A
 * real text has a few dozen; a text over this is refused before any is spelled out (`too_many_timestamps`).
 */
export const MAX_SPELLED_TIMESTAMPS = 2000;

/** Largest |unix seconds| a Date holds (±8.64e15 ms): beyond it a timestamp is spelled as nothing. */
const MAX_UNIX_SECONDS = 8_640_000_000_000;

/** A timestamp Discord would show (and we spell out): a representable date. */
export function isRepresentableTimestamp(unixSeconds: number): boolean {
  return Number.isFinite(unixSeconds) && Math.abs(unixSeconds) <= MAX_UNIX_SECONDS;
}

/** Recently spelled instants (the same `<t:…>` repeated costs one ICU call); bounded, oldest dropped first. */
const recentParts = new Map<string, Parts>();
const RECENT_PARTS_MAX = 256;

function partsOf(date: Date, timeZone: string): Parts {
  const key = `${timeZone} ${date.getTime()}`;
  const known = recentParts.get(key);
  if (known) return known;
  const parts: Parts = { year: 0, month: 0, day: 0, hour: 0, minute: 0, second: 0, weekday: 0 };
  for (const part of formatterFor(timeZone).formatToParts(date)) {
    if (part.type === 'weekday') parts.weekday = WEEKDAY_INDEX[part.value] ?? 0;
    else if (part.type in parts) parts[part.type as keyof Parts] = Number(part.value);
  }
  if (recentParts.size >= RECENT_PARTS_MAX) recentParts.delete(recentParts.keys().next().value!);
  recentParts.set(key, parts);
  return parts;
}

function timeWords(p: Parts, withSeconds: boolean): string {
  let text = `${p.hour} giờ`;
  if (p.minute !== 0 || (withSeconds && p.second !== 0)) text += ` ${p.minute} phút`;
  if (withSeconds && p.second !== 0) text += ` ${p.second} giây`;
  return text;
}

function dateWords(p: Parts): string {
  return `ngày ${p.day} tháng ${p.month} năm ${p.year}`;
}

/**
 * Words for a Discord timestamp, or '' when the number is not a representable date (Discord shows
 * "Invalid Date" for those; saying nothing is kinder).
 */
export function formatDiscordTimestamp(unixSeconds: number, style: TimestampStyle | undefined, timeZone: string): string {
  if (!isRepresentableTimestamp(unixSeconds)) return '';
  const date = new Date(unixSeconds * 1000);
  const p = partsOf(date, timeZone);
  switch (style) {
    case 't':
      return timeWords(p, false);
    case 'T':
      return timeWords(p, true);
    case 'd':
    case 'D':
      return dateWords(p);
    case 'F':
      return `${timeWords(p, false)} ${WEEKDAYS[p.weekday] ?? ''}, ${dateWords(p)}`;
    case 'f':
    case 'R':
    case undefined:
      return `${timeWords(p, false)} ${dateWords(p)}`;
  }
}
