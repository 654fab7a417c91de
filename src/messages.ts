/**
 * Every text a Discord user reads, in Vietnamese and English, and the one mapping from an error to what the user
 * is told. Kept in one file so a translator sees all of it at once and so the two languages cannot drift: the
 * Vietnamese table is typed as `typeof en`, so a missing or mistyped entry fails the type check.
 *
 * Replies follow the interaction's locale: Vietnamese for `vi`, English for everything else. Error `detail`s
 * (worker bodies, tracebacks) are never shown — only a short text chosen by the error's code, or by its kind
 * when the code is unknown here.
 */
import { isNarratorError } from './services/errors.js';
import { TextTooLongError, TooManyTimestampsError, VoiceTagUnknownError } from './services/text/index.js';
import { ACCEPTED_EXTENSIONS, TextFileError, type TextFileProblem } from './services/input/textFile.js';

export type Lang = 'vi' | 'en';

/** Discord locales are `vi`, `en-US`, `en-GB`, … — only Vietnamese has its own texts. */
export function langOf(locale: string | null | undefined): Lang {
  return locale?.toLowerCase().startsWith('vi') ? 'vi' : 'en';
}

/** What the narration reply shows while a narration is queued, synthesized and played. */
export interface NarrationStatusView {
  readonly phase: 'queued' | 'synthesizing' | 'playing';
  /** 1-based place among the narrations waiting in this server (only when queued). */
  readonly queuePosition?: number;
  readonly chunksReady: number;
  readonly chunksTotal: number;
  /** The backend reported that the job is waiting for a worker. */
  readonly waiting?: 'cold_start' | 'no_workers' | 'queue';
  /** The backend is retrying a chunk after this error code. */
  readonly retrying?: string;
  /** Synthesis failed mid-way; what was ready still plays. */
  readonly failedMidway?: unknown;
  /** Voice channel id, shown as a channel mention. */
  readonly channelId?: string;
  /** Paused because nobody is left in the voice channel. */
  readonly paused?: boolean;
  /** Paused by a user (/pause, ⏯): who, as a mention. */
  readonly pausedBy?: string;
}

export type CancelReason = 'skipped' | 'stopped' | 'left' | 'shutdown' | 'disconnected' | 'idle' | 'connect_failed' | 'empty' | 'paused';

/** Discord shows at most 2000 characters per message. */
export const MESSAGE_LIMIT = 2000;

/** A filled/empty bar with the count: `▰▰▰▱▱▱▱▱▱▱ 3/10`. */
export function progressBar(done: number, total: number, width = 10): string {
  const safeTotal = Math.max(1, total);
  const clamped = Math.min(Math.max(0, done), safeTotal);
  const filled = Math.round((clamped / safeTotal) * width);
  return `${'▰'.repeat(filled)}${'▱'.repeat(width - filled)} ${clamped}/${total}`;
}

/** 83.4 → "1:23". */
export function formatDuration(seconds: number): string {
  const s = Math.max(0, Math.round(seconds));
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  const rest = String(s % 60).padStart(2, '0');
  return h > 0 ? `${h}:${String(m).padStart(2, '0')}:${rest}` : `${m}:${rest}`;
}

/** Cuts `text` to at most `max` characters (code points), ending with an ellipsis when cut. */
export function truncate(text: string, max: number): string {
  const chars = [...text];
  if (chars.length <= max) return text;
  return `${chars.slice(0, Math.max(0, max - 1)).join('').trimEnd()}…`;
}

/**
 * The user's text as Discord will show it under the bot's name: inside a code block, cut to fit. The text is the
 * user's, the message is the bot's — so nothing in it may render: not a masked link (`[free Nitro](https://…)`),
 * a bare or `<…>` URL, a heading, `-#` subtext, a list, a quote, a spoiler, emphasis, a mention or a timestamp.
 * A code block is the one Discord construct whose whole content is literal (no markup, no links, no mentions), so
 * one rule covers every case, whereas escaping would have to match each client's parser (bare URLs link even with
 * escaped punctuation around them). The only way out of a code block is a run of three backticks: every backtick
 * followed by another gets a zero-width space after it, so no run can form. The fence opens with a bare newline
 * so the first line is never taken for a language tag. Replies still send `allowedMentions: { parse: [] }`.
 */
export function quoteText(text: string, max = 600): string {
  const cut = truncate(text.trim().replace(/\n{3,}/g, '\n\n'), max);
  return `\`\`\`\n${cut.replace(/`(?=`)/g, '`\u200b')}\n\`\`\``;
}

/** A one-line preview of a user's text for inline code (`/queue`): backticks replaced by a look-alike, so it cannot end early. */
export function inlineCodeSafe(text: string): string {
  return text.replace(/`/g, 'ˋ');
}

/** The numbers of a `text_too_long` refusal (TextTooLongError): spoken characters against the limit. */
type TooLong = Pick<TextTooLongError, 'chars' | 'max' | 'expanded'>;

const en = {
  // --- command names and descriptions (Discord shows these in the command picker) ---
  cmdNarrateDescription: 'Read a text aloud in your voice channel',
  optVoiceDescription: 'Which voice reads it',
  optSpeedDescription: 'Speaking speed, 0.5 (slow) to 2.0 (fast)',
  cmdStopDescription: 'Stop the narration and clear the queue',
  cmdSkipDescription: 'Skip the current narration',
  cmdQueueDescription: 'Show what is playing and waiting',
  cmdLeaveDescription: 'Stop everything and leave the voice channel',
  cmdVoicesDescription: 'List the voices you can choose',

  // --- checks before a narration is accepted ---
  guildOnly: () => 'This command works only in a server.',
  notInVoice: () => 'Join a voice channel first, then use `/narrate` again.',
  stageNotSupported: () => 'I cannot narrate in a stage channel. Use a normal voice channel.',
  missingVoicePermissions: (p: { channelId: string; missing: string }) =>
    `I do not have permission to ${p.missing} in <#${p.channelId}>. Ask an admin to give me **Connect** and **Speak** there.`,
  channelFull: (p: { channelId: string }) => `<#${p.channelId}> is full, so I cannot join it.`,
  busyElsewhere: (p: { channelId: string }) =>
    `I am already narrating in <#${p.channelId}>. Join that channel, or wait until it is finished.`,
  busyElsewhereAny: () => 'I am already narrating in another voice channel of this server. Join it, or wait until it is finished.',
  queueFull: (p: { max: number }) => `The queue for this server is full (${p.max} narrations waiting). Try again when one has finished.`,
  shuttingDown: () => 'The bot is restarting right now. Try again in a minute.',
  afkChannel: (p: { channelId: string }) =>
    `<#${p.channelId}> is this server’s AFK channel: nobody can hear me there. Join another voice channel and try again.`,
  notInBotChannel: () => 'Join my voice channel to control the narration.',
  permissionWords: (p: { connect: boolean; speak: boolean; view: boolean }) =>
    [p.view ? 'see the channel' : '', p.connect ? 'connect' : '', p.speak ? 'speak' : ''].filter(Boolean).join(' and '),

  // --- the narration reply ---
  queued: (p: { position: number }) => `⏳ Queued — ${p.position === 1 ? 'next in line' : `position ${p.position}`}.`,
  synthesizing: (p: { bar: string }) => `🎙️ Preparing the audio… ${p.bar}`,
  playing: (p: { bar: string; channelId?: string }) =>
    `▶️ Playing${p.channelId ? ` in <#${p.channelId}>` : ''} · ${p.bar}`,
  pausedEmpty: () => '⏸️ Paused: nobody is left in the voice channel. I will go on when someone comes back.',
  waitingColdStart: () => '🧊 A worker is warming up (cold start) — the first part can take a minute.',
  waitingNoWorkers: () => '⏳ No worker is free right now — waiting for one.',
  waitingQueue: () => '⏳ Waiting in the worker queue…',
  retrying: (p: { reason: string }) => `🔁 Retrying a part (${p.reason})…`,
  failedMidway: (p: { reason: string }) => `⚠️ ${p.reason} Playing what is ready.`,
  done: (p: { duration: string; voice: string; speed: number }) => `✅ Narrated · ${p.duration} · voice **${p.voice}** · speed ${p.speed}`,
  doneNoVoice: (p: { duration: string }) => `✅ Finished (${p.duration}), but I could not play it in the voice channel.`,
  failedPartial: (p: { done: number; total: number; reason: string }) =>
    `⚠️ Stopped after part ${p.done} of ${p.total}: ${p.reason} The attachment holds what was read.`,
  failed: (p: { reason: string }) => `❌ ${p.reason}`,
  cancelled: (p: { reason: CancelReason; by?: string }) => {
    switch (p.reason) {
      case 'skipped':
        return `⏭️ Skipped${p.by ? ` by ${p.by}` : ''}.`;
      case 'stopped':
        return `⏹️ Stopped${p.by ? ` by ${p.by}` : ''}.`;
      case 'left':
        return `👋 Cancelled: I left the voice channel${p.by ? ` (${p.by} used /leave)` : ''}.`;
      case 'shutdown':
        return '🛑 Cancelled: the bot is shutting down. Please try again in a minute.';
      case 'disconnected':
        return '🔌 Cancelled: I was disconnected from the voice channel.';
      case 'idle':
        return '👋 Cancelled: I left the voice channel.';
      case 'connect_failed':
        return '🔌 Cancelled: I could not connect to the voice channel. Try again in a moment.';
      case 'empty':
        return '👋 Cancelled: everyone left the voice channel, so I left too.';
      case 'paused':
        return '👋 Cancelled: it stayed paused too long, so I left the voice channel.';
    }
  },
  attachmentTooLarge: () => '(The audio is too large to attach here.)',
  attachmentFailed: () => '(The audio file could not be prepared.)',
  attachmentCompressed: () => '(Compressed to Ogg Opus to fit the upload limit.)',
  // --- long narrations: audio in parts (issue 11) ---
  audioInParts: (p: { parts: number; limit: string }) =>
    `(Too long for one file under this server's ${p.limit} upload limit, even compressed to Ogg Opus: the audio comes in ${p.parts} parts, each playable on its own — part 1 here, the others in the next messages.)`,
  audioPart: (p: { part: number; parts: number }) => `🎧 Narration audio, part ${p.part}/${p.parts}.`,
  audioPartsMissing: (p: { posted: number; parts: number }) => `(Only ${p.posted} of the ${p.parts} parts of the audio could be posted.)`,
  audioTooManyParts: (p: { parts: number; max: number }) =>
    `(The audio is too large to attach here, even in parts: it would take ${p.parts} files of this server's upload limit, and at most ${p.max} are posted.)`,
  tokenExpiredPrefix: (p: { userId: string }) => `<@${p.userId}> your narration is finished:`,
  resultByDm: (p: { channelId: string }) => `Your narration is finished. I could not post it in <#${p.channelId}>, so here it is:`,
  resultByDmNoChannel: () => 'Your narration is finished. I could not post it in the channel, so here it is:',

  // --- /stop /skip /queue /leave /voices ---
  stopped: (p: { count: number }) => (p.count > 0 ? `⏹️ Stopped and cleared ${p.count} narration(s).` : '⏹️ Nothing was playing.'),
  skipped: (p: { who: string }) => `⏭️ Skipped the narration by ${p.who}.`,
  nothingPlaying: () => 'Nothing is playing right now.',
  left: () => '👋 Left the voice channel.',
  notConnected: () => 'I am not in a voice channel in this server.',
  queueEmpty: () => 'The queue is empty.',
  queueTitle: (p: { count: number; max: number }) => `**Narrations** (${p.count}, at most ${p.max} waiting):`,
  queueRowPlaying: (p: { who: string; words: string; bar: string }) => `▶️ <@${p.who}> — \`${p.words}\` · ${p.bar}`,
  queueRowPreparing: (p: { who: string; words: string; bar: string }) => `🎙️ <@${p.who}> — \`${p.words}\` · preparing ${p.bar}`,
  queueRowWaiting: (p: { n: number; who: string; words: string; ready: boolean }) =>
    `${p.n}. <@${p.who}> — \`${p.words}\`${p.ready ? ' · preparing' : ''}`,
  voicesTitle: (p: { count: number }) => `**Voices** (${p.count}):`,
  voiceDefault: () => 'default',
  voiceNotOnWorker: () => 'not installed on the worker',
  voicesWorkerUnreachable: () => '(Could not ask the worker which voices it has.)',

  // --- player controls: /pause, /resume and the buttons on the narration reply ---
  cmdPauseDescription: 'Pause the narration (the audio keeps being prepared)',
  cmdResumeDescription: 'Resume the paused narration',
  pausedByUser: (p: { by: string }) => `⏸️ Paused by ${p.by}. Press ⏯️ or use /resume to go on.`,
  pausedReply: (p: { who: string }) => `⏸️ ${p.who} paused the narration.`,
  resumedReply: (p: { who: string; waitingForListeners: boolean }) =>
    `▶️ ${p.who} resumed the narration.${p.waitingForListeners ? ' It goes on as soon as someone is in the voice channel.' : ''}`,
  alreadyPaused: () => 'The narration is already paused. Use /resume to go on.',
  notPaused: () => 'The narration is not paused.',
  controlEnded: () => 'This narration has ended.',
  controlNotStarted: () => 'This narration has not started playing yet.',
  nothingToReplay: () => 'Nothing has been played yet to go back to.',

  // --- errors ---
  errVoiceUnknown: (p: { voices: string }) => `Unknown voice. Choose one of: ${p.voices}.`,
  errVoiceNotInstalled: () => 'That voice is allowed here but not installed on the speech worker. Pick another one (/voices) or ask an admin.',
  errSpeed: (p: { min: number; max: number }) => `The speed must be between ${p.min} and ${p.max}.`,
  errTextTooLong: (p?: TooLong) =>
    p === undefined
      ? 'The text is too long. Split it into smaller parts.'
      : p.expanded
        ? `The text is too long once mentions and timestamps are spelled out: ${p.chars} characters to read, the limit is ${p.max}. Split it into smaller parts.`
        : `The text is too long: ${p.chars} characters, the limit is ${p.max}. Split it into smaller parts.`,
  errTooManyTimestamps: (p?: { max: number }) =>
    p === undefined
      ? 'The text has too many Discord timestamps (`<t:…>`) to read in one narration. Split it into smaller parts.'
      : `The text has more than ${p.max} Discord timestamps (\`<t:…>\`); I read at most ${p.max} in one narration. Split it into smaller parts.`,
  errNothingSpeakable: () => 'There is nothing to read aloud: the text is empty after removing links, emoji and formatting.',
  errWorkerBusy: () => 'The speech workers are busy right now. Try again in a minute.',
  errColdStart: () => 'No speech worker became available in time (they may be starting up). Try again in a minute.',
  errServiceDown: () => 'The speech service is having trouble right now. Try again later.',
  errNetwork: () => 'I could not reach the speech service. Try again later.',
  errAuth: () => 'The speech service refused the bot’s credentials. Ask the bot’s admin to check the RunPod API key.',
  errEndpoint: () => 'The speech service endpoint does not exist. Ask the bot’s admin to check the RunPod endpoint id.',
  errConfig: () => 'The bot is not configured correctly. Ask its admin to check the logs.',
  errSynthesisFailed: () => 'The speech worker failed on this text.',
  errTimeout: () => 'The narration took too long and was stopped.',
  errCancelled: () => 'The narration was cancelled.',
  errVoiceConnect: () => 'I could not connect to the voice channel. Try again in a moment.',
  errUnexpected: () => 'Something went wrong on my side. Please try again.',

  // --- outputs, /status, warm-up (issue 12) ---
  optOutputDescription: 'Where the audio goes: your voice channel (default), a file, or a voice message',
  outputChoiceVoice: 'voice channel',
  outputChoiceFile: 'file (no voice channel needed)',
  outputChoiceVoiceMessage: 'voice message (no voice channel needed)',
  cmdStatusDescription: 'Show the speech backend’s health and what the bot is doing',
  notInVoiceTryOutputs: () =>
    'Join a voice channel first, then use `/narrate` again — or use `output:file` or `output:voice_message`, which work without one.',
  doneFile: (p: { duration: string; voice: string; speed: number }) => `✅ Narrated · ${p.duration} · voice **${p.voice}** · speed ${p.speed} · as a file`,
  doneVoiceMessage: (p: { duration: string; voice: string; speed: number }) =>
    `✅ Narrated · ${p.duration} · voice **${p.voice}** · speed ${p.speed} · posted as a voice message below`,
  voiceMessageFallback: (p: { why: string }) => `🎙️ I could not post it as a voice message (${p.why}), so it is attached as a file.`,
  voiceMessageNoPermission: () => 'I lack the **Send Voice Messages** permission here',
  voiceMessageTooLarge: () => 'it is larger than this server’s upload limit',
  voiceMessageRefused: () => 'Discord refused it',
  gpuStarting: (p: { seconds: number }) => `🧊 The GPU is starting, first audio in about ${p.seconds} s.`,
  statusTitle: () => '**Narrator status**',
  statusRunpod: (p: { idle: number; running: number; initializing: number; throttled: number; inQueue: number; inProgress: number }) =>
    `Backend: **RunPod** — workers: ${p.idle} idle, ${p.running} running, ${p.initializing} initializing, ${p.throttled} throttled · jobs: ${p.inQueue} in queue, ${p.inProgress} in progress`,
  statusRunpodDown: (p: { reason: string }) => `Backend: **RunPod** — health check failed (${p.reason})`,
  statusFlask: (p: { ok: boolean; voices?: number }) =>
    p.ok ? `Backend: **Flask** — \`/voices\` reachable (${p.voices ?? 0} voices)` : 'Backend: **Flask** — `/voices` not reachable',
  statusLocal: () => 'Backend: **local** (offline voice, espeak-ng)',
  statusNarrations: (p: { playing: number; queued: number; detached: number; guilds: number }) =>
    `Narrations: ${p.playing} playing, ${p.queued} queued in ${p.guilds} server(s), ${p.detached} as files/voice messages`,
  statusScheduler: (p: { busy: number; slots: number; waiting: number; held: number }) =>
    `GPU slots: ${p.busy}/${p.slots} busy, ${p.waiting} chunk(s) waiting` + (p.held > 0 ? `, ${p.held} held until their listeners near them` : ''),
  statusCache: (p: { mb: string; files: number; hitRate: string }) => `Cache: ${p.mb} MB in ${p.files} file(s), hit rate ${p.hitRate}`,
  statusUptime: (p: { uptime: string }) => `Uptime: ${p.uptime}`,
  // --- /narrate: server settings, limits and the queue kept across restarts (issue 10) ---
  limitRole: (p: { roleId: string }) => `Only members with the <@&${p.roleId}> role may narrate in this server.`,
  limitMaxChars: (p: { limit: number; asked: number }) =>
    `Server limit: ${p.limit} characters per narration; this one has ${p.asked}. Shorten it or split it into parts.`,
  limitDailyChars: (p: { limit: number; used: number; asked: number; resetsIn: string }) =>
    `Server limit: ${p.limit} characters a day, ${p.used} used; this narration needs ${p.asked}. Resets in ${p.resetsIn}.`,
  limitUserDailyChars: (p: { limit: number; used: number; asked: number; resetsIn: string }) =>
    `Your limit in this server: ${p.limit} characters a day, ${p.used} used; this narration needs ${p.asked}. Resets in ${p.resetsIn}.`,
  limitCooldown: (p: { limit: number; resetsIn: string }) =>
    `Slow down: one narration every ${p.limit} s per member in this server. Try again in ${p.resetsIn}.`,
  limitsUnavailable: () => 'I cannot check this server’s limits right now (the settings database is unavailable), so I will not narrate. Try again in a minute.',
  resumedAfterRestart: () => '🔁 Resumed after a restart.',
  resumedInChannel: (p: { userId: string }) => `🔁 <@${p.userId}> your narration resumed after a restart.`,
  suspendedForRestart: () => '⏸️ The bot is restarting: this narration will continue from here when it is back.',
  notResumed: () => '👋 Not resumed after the restart: nobody was left in the voice channel.',
  durationHM: (p: { h: number; m: number }) => (p.h > 0 ? `${p.h} h ${p.m} min` : `${p.m} min`),
  durationS: (p: { s: number }) => `${p.s} s`,

  // --- /settings /voice /usage /dictionary (issue 10): descriptions ---
  cmdSettingsDescription: 'Server settings for the narrator (Manage Server)',
  subSettingsShowDescription: 'Show every setting with its default',
  subSettingsVoiceDescription: 'Set the server’s default voice',
  optSettingsVoiceDescription: 'The default voice (leave empty to go back to the bot default)',
  subSettingsSpeedDescription: 'Set the server’s default speed',
  optSettingsSpeedDescription: 'Speed, 0.5 to 2.0 (leave empty to go back to the bot default)',
  subSettingsLimitsDescription: 'Set the character limits and the cooldown (no option: show them)',
  optMaxCharsDescription: 'Characters per narration, at most 6000 (0 = the bot default)',
  optDailyCharsDescription: 'Characters a day for the whole server, UTC day (0 = unlimited)',
  optUserDailyCharsDescription: 'Characters a day for each member, UTC day (0 = unlimited)',
  optCooldownDescription: 'Seconds a member waits between two narrations (0 = none)',
  subSettingsRoleDescription: 'Only members with this role may narrate',
  optRoleDescription: 'The role (leave empty to let everyone narrate)',
  subSettingsAliasDescription: 'Name a voice for [tags] in scripts',
  optAliasNameDescription: 'The tag, e.g. minh for [minh]',
  optAliasVoiceDescription: 'The voice it stands for (leave empty to remove the alias)',
  subSettingsResetDescription: 'Put every setting back to its default',
  cmdVoiceDescription: 'Your own default voice and speed in this server',
  subVoiceSetDescription: 'Choose the voice and speed used when /narrate names none',
  optMyVoiceDescription: 'Your voice',
  subVoiceShowDescription: 'Show your voice and speed',
  subVoiceResetDescription: 'Forget your voice and speed (the server default applies)',
  cmdUsageDescription: 'What narrations cost: characters and GPU time',
  subUsageServerDescription: 'This server, today and the last 30 days (Manage Server)',
  subUsageMeDescription: 'Your own narrations, today and the last 30 days',
  cmdDictionaryDescription: 'How words are pronounced in this server',
  subDictionaryAddDescription: 'Add or change a word (Manage Server)',
  optDictionaryWordDescription: 'The word as written, e.g. TP.HCM',
  optDictionarySayDescription: 'What to say instead, e.g. Thành phố Hồ Chí Minh',
  subDictionaryRemoveDescription: 'Remove a word (Manage Server)',
  subDictionaryListDescription: 'List the words and how they are read',

  // --- /settings /voice /usage /dictionary: replies ---
  needManageServer: () => 'Only members with the **Manage Server** permission can do this.',
  storageMissing: () => 'Settings are not available: this bot runs without a database.',
  errStorageUnavailable: () => 'The settings database is not reachable right now, so I cannot do this. Try again in a minute.',
  settingsTitle: () => '**Server settings**',
  settingsRow: (p: { label: string; value: string; fallback: string }) => `• ${p.label}: **${p.value}** (default: ${p.fallback})`,
  labelVoice: 'Voice',
  labelSpeed: 'Speed',
  labelMaxChars: 'Characters per narration',
  labelDailyChars: 'Characters a day, whole server',
  labelUserDailyChars: 'Characters a day, each member',
  labelCooldown: 'Wait between two narrations',
  labelRole: 'Who may narrate',
  labelAliases: 'Voice aliases',
  valueUnlimited: 'unlimited',
  valueNone: 'none',
  valueEveryone: 'everyone',
  valueSeconds: (p: { seconds: string }) => `${p.seconds} s`,
  settingsVoiceSet: (p: { voice: string }) => `✅ The server’s default voice is now **${p.voice}**.`,
  settingsVoiceCleared: (p: { voice: string }) => `✅ The server’s default voice is back to the bot default (**${p.voice}**).`,
  settingsSpeedSet: (p: { speed: string }) => `✅ The server’s default speed is now **${p.speed}**.`,
  settingsSpeedCleared: (p: { speed: string }) => `✅ The server’s default speed is back to the bot default (**${p.speed}**).`,
  settingsLimitsSaved: () => '✅ Limits saved.',
  settingsLimitsTitle: () => '**Limits**',
  settingsRoleSet: (p: { roleId: string }) => `✅ Only members with <@&${p.roleId}> may narrate now.`,
  settingsRoleCleared: () => '✅ Everyone may narrate again.',
  settingsReset: () => '✅ Every setting is back to its default.',
  aliasSet: (p: { alias: string; voice: string }) => `✅ \`[${p.alias}]\` now reads with the voice **${p.voice}**.`,
  aliasRemoved: (p: { alias: string }) => `✅ Removed the alias \`${p.alias}\`.`,
  aliasUnknown: (p: { alias: string }) => `There is no alias \`${p.alias}\`.`,
  aliasInvalid: (p: { max: number }) => `An alias is 1 to ${p.max} letters, digits, - or _, with at least one letter (for example \`minh\`).`,
  aliasTooMany: (p: { max: number }) => `This server already has ${p.max} aliases. Remove one first.`,
  voicePrefsTitle: () => '**Your voice**',
  voicePrefsRow: (p: { label: string; value: string; source: string }) => `• ${p.label}: **${p.value}** (${p.source})`,
  sourceMine: 'your choice',
  sourceServer: 'server default',
  sourceBot: 'bot default',
  voicePrefsSaved: (p: { voice: string; speed?: string }) =>
    `✅ Your narrations now use the voice **${p.voice}**${p.speed ? ` at speed **${p.speed}**` : ''} when /narrate names none.`,
  voicePrefsReset: () => '✅ Forgot your voice and speed: the server’s defaults apply again.',
  usageTitleServer: () => '**Usage in this server**',
  usageTitleMe: () => '**Your usage in this server**',
  usageToday: 'Today (UTC)',
  usageLast30: 'Last 30 days',
  usageRow: (p: { label: string; narrations: number; n: string; chars: string; synthesized: string; gpu: string; cost: string }) =>
    `• ${p.label}: ${p.n} narration${p.narrations === 1 ? '' : 's'} · ${p.chars} characters (${p.synthesized} synthesized) · ${p.gpu} GPU s · ≈ ${p.cost}`,
  usageTopTitle: () => '**Top members, last 30 days**',
  usageTopRow: (p: { rank: number; userId: string; narrations: number; n: string; chars: string; gpu: string; cost: string }) =>
    `${p.rank}. <@${p.userId}> — ${p.n} narration${p.narrations === 1 ? '' : 's'} · ${p.chars} characters · ${p.gpu} GPU s · ≈ ${p.cost}`,
  usagePrice: (p: { price: string }) => `-# Cost estimated at ${p.price} per GPU second; characters served from the cache cost nothing.`,
  usageNothing: () => 'No narrations in the last 30 days.',
  dictionaryAdded: (p: { word: string; say: string }) => `✅ \`${p.word}\` is now read as \`${p.say}\`.`,
  dictionaryChanged: (p: { word: string; say: string }) => `✅ \`${p.word}\` is now read as \`${p.say}\` (changed).`,
  dictionaryRemoved: (p: { word: string }) => `✅ Removed \`${p.word}\` from the dictionary.`,
  dictionaryNotFound: (p: { word: string }) => `\`${p.word}\` is not in the dictionary.`,
  dictionaryTitle: (p: { count: number; max: number }) => `**Pronunciation dictionary** (${p.count}/${p.max}):`,
  dictionaryEmpty: () => 'The dictionary is empty. An admin can add a word with `/dictionary add`.',
  dictionaryMore: (p: { more: number }) => `…and ${p.more} more: the whole list is attached.`,
  errDictionaryWordInvalid: () => 'The word must contain at least one letter or digit, as it is written (e.g. `TP.HCM`).',
  errDictionaryWordTooLong: (p: { max: number }) => `The word is too long: at most ${p.max} characters.`,
  errDictionarySayInvalid: () => 'Say how the word is read with at least one letter or digit (links and emoji are not read), e.g. `Thành phố Hồ Chí Minh`.',
  errDictionarySayTooLong: (p: { max: number }) => `What to say is too long: at most ${p.max} characters.`,
  errDictionaryFull: (p: { max: number }) => `The dictionary is full (${p.max} words). Remove one first.`,
  errDictionaryEntryInvalid: (p: { word: number; say: number }) => `A word is 1 to ${p.word} characters and what to say 1 to ${p.say}.`,
  // --- more ways in: /narrate file:, the "Narrate" message command (issue 11) ---
  optFileDescription: 'A .txt, .md, .srt or .vtt file to read instead of text',
  optTextOrFileDescription: 'The text to read (up to 6000 characters); or attach a file instead',
  cmdNarrateMessageName: 'Narrate',
  narrateTextAndFile: () => 'Give either `text` or `file`, not both.',
  narrateNoInput: () => 'Give a `text` to read, or attach a `file` (.txt, .md, .srt or .vtt).',
  fileExtension: (p: { extension: string; accepted: string }) =>
    `I can read ${p.accepted} files${p.extension ? `, not \`${p.extension}\`` : ''}. Save the text as one of those and try again.`,
  fileBinary: (p: { format?: string }) =>
    p.format ? `This file is ${p.format}, not text. Attach a .txt, .md, .srt or .vtt file.` : 'This file holds binary data, not text. Attach a .txt, .md, .srt or .vtt file.',
  fileEncoding: () => 'This file is not UTF-8 or UTF-16 text. Save it as UTF-8 (most editors offer it under “Save as… / Encoding”) and try again.',
  fileTooLarge: (p: { limit: string; size?: string }) =>
    `This file is too large${p.size ? ` (${p.size})` : ''}: I read files up to ${p.limit}. Split it into smaller files.`,
  fileEmpty: () => 'This file has no text to read.',
  fileDownloadFailed: () => 'I could not download the file from Discord. Try again in a moment.',
  fileDownloadTimeout: () => 'Downloading the file took too long. Try again in a moment.',
  fileSource: () => 'I only read files attached on Discord.',
  fileFormatName: (p: { format: string }) =>
    ({ png: 'a PNG image', jpeg: 'a JPEG image', gif: 'a GIF image', webp: 'a WebP image', pdf: 'a PDF document', zip: 'a ZIP archive (a .docx is one too)', gzip: 'a gzip archive', wav: 'a WAV recording', mp3: 'an MP3 recording', ogg: 'an Ogg recording', mp4: 'an MP4 video', exe: 'a program' })[p.format] ?? 'binary data',
  fileQuote: (p: { name: string }) => `📄 ${p.name}`,
  messageLink: (p: { url: string }) => `💬 ${p.url}`,
  messageNothingToRead: () => 'That message has nothing I can read aloud: no text, and no .txt or .md attachment.',
  messageNotInVoice: () => 'Join a voice channel first, then use **Apps → Narrate** on the message again.',

  // --- several voices in one narration (issue 11): voice tags ---
  errVoiceTagUnknown: (p: { tag: string; known: string }) =>
    `The text uses the voice tag ${p.tag}, but no voice or alias has that name, so nothing was read. Known names: ${p.known}. (An admin can add one with \`/settings alias\`.)`,
};

export type Texts = typeof en;

const vi: Texts = {
  cmdNarrateDescription: 'Đọc to một đoạn văn trong kênh thoại của bạn',
  optVoiceDescription: 'Giọng đọc',
  optSpeedDescription: 'Tốc độ đọc, từ 0.5 (chậm) đến 2.0 (nhanh)',
  cmdStopDescription: 'Dừng đọc và xoá hàng đợi',
  cmdSkipDescription: 'Bỏ qua bài đang đọc',
  cmdQueueDescription: 'Xem bài đang đọc và các bài đang chờ',
  cmdLeaveDescription: 'Dừng tất cả và rời kênh thoại',
  cmdVoicesDescription: 'Danh sách giọng đọc có thể chọn',

  guildOnly: () => 'Lệnh này chỉ dùng được trong máy chủ.',
  notInVoice: () => 'Hãy vào một kênh thoại trước, rồi dùng lại `/narrate`.',
  stageNotSupported: () => 'Mình không đọc được trong kênh sân khấu (stage). Hãy dùng kênh thoại thường.',
  missingVoicePermissions: (p) =>
    `Mình không có quyền ${p.missing} trong <#${p.channelId}>. Nhờ quản trị viên cấp quyền **Connect** và **Speak** ở kênh đó.`,
  channelFull: (p) => `<#${p.channelId}> đã đầy nên mình không vào được.`,
  busyElsewhere: (p) => `Mình đang đọc trong <#${p.channelId}>. Hãy vào kênh đó, hoặc đợi đọc xong.`,
  busyElsewhereAny: () => 'Mình đang đọc trong một kênh thoại khác của máy chủ này. Hãy vào kênh đó, hoặc đợi đọc xong.',
  queueFull: (p) => `Hàng đợi của máy chủ này đã đầy (${p.max} bài đang chờ). Hãy thử lại khi có bài đọc xong.`,
  shuttingDown: () => 'Bot đang khởi động lại. Hãy thử lại sau một phút.',
  afkChannel: (p) => `<#${p.channelId}> là kênh AFK của máy chủ: ở đó không ai nghe được. Hãy vào kênh thoại khác rồi thử lại.`,
  notInBotChannel: () => 'Hãy vào kênh thoại của mình để điều khiển việc đọc.',
  permissionWords: (p) => [p.view ? 'xem kênh' : '', p.connect ? 'kết nối' : '', p.speak ? 'nói' : ''].filter(Boolean).join(' và '),

  queued: (p) => `⏳ Đã xếp hàng — ${p.position === 1 ? 'bài tiếp theo' : `vị trí ${p.position}`}.`,
  synthesizing: (p) => `🎙️ Đang tạo giọng đọc… ${p.bar}`,
  playing: (p) => `▶️ Đang đọc${p.channelId ? ` trong <#${p.channelId}>` : ''} · ${p.bar}`,
  pausedEmpty: () => '⏸️ Tạm dừng: không còn ai trong kênh thoại. Mình sẽ đọc tiếp khi có người quay lại.',
  waitingColdStart: () => '🧊 Máy chủ giọng nói đang khởi động — phần đầu có thể mất khoảng một phút.',
  waitingNoWorkers: () => '⏳ Hiện chưa có máy chủ giọng nói nào rảnh — đang chờ.',
  waitingQueue: () => '⏳ Đang chờ trong hàng đợi của máy chủ giọng nói…',
  retrying: (p) => `🔁 Đang thử lại một phần (${p.reason})…`,
  failedMidway: (p) => `⚠️ ${p.reason} Đang đọc phần đã sẵn sàng.`,
  done: (p) => `✅ Đã đọc xong · ${p.duration} · giọng **${p.voice}** · tốc độ ${p.speed}`,
  doneNoVoice: (p) => `✅ Đã tạo xong (${p.duration}), nhưng mình không phát được trong kênh thoại.`,
  failedPartial: (p) => `⚠️ Dừng sau phần ${p.done}/${p.total}: ${p.reason} Tệp đính kèm chứa phần đã đọc.`,
  failed: (p) => `❌ ${p.reason}`,
  cancelled: (p) => {
    switch (p.reason) {
      case 'skipped':
        return `⏭️ Đã bỏ qua${p.by ? ` (bởi ${p.by})` : ''}.`;
      case 'stopped':
        return `⏹️ Đã dừng${p.by ? ` (bởi ${p.by})` : ''}.`;
      case 'left':
        return `👋 Đã huỷ: mình đã rời kênh thoại${p.by ? ` (${p.by} dùng /leave)` : ''}.`;
      case 'shutdown':
        return '🛑 Đã huỷ: bot đang tắt. Hãy thử lại sau một phút.';
      case 'disconnected':
        return '🔌 Đã huỷ: mình bị ngắt kết nối khỏi kênh thoại.';
      case 'idle':
        return '👋 Đã huỷ: mình đã rời kênh thoại.';
      case 'connect_failed':
        return '🔌 Đã huỷ: mình không kết nối được vào kênh thoại. Hãy thử lại sau.';
      case 'empty':
        return '👋 Đã huỷ: mọi người đã rời kênh thoại nên mình cũng rời đi.';
      case 'paused':
        return '👋 Đã huỷ: tạm dừng quá lâu nên mình đã rời kênh thoại.';
    }
  },
  attachmentTooLarge: () => '(Tệp âm thanh quá lớn để đính kèm ở đây.)',
  attachmentFailed: () => '(Không tạo được tệp âm thanh.)',
  attachmentCompressed: () => '(Đã nén sang Ogg Opus cho vừa giới hạn tải lên.)',
  // --- long narrations: audio in parts (issue 11) ---
  audioInParts: (p) =>
    `(Quá dài để gửi trong một tệp dưới giới hạn tải lên ${p.limit} của máy chủ này, kể cả khi đã nén sang Ogg Opus: âm thanh được chia thành ${p.parts} phần, mỗi phần nghe riêng được — phần 1 ở đây, các phần còn lại ở các tin nhắn tiếp theo.)`,
  audioPart: (p) => `🎧 Âm thanh bài đọc, phần ${p.part}/${p.parts}.`,
  audioPartsMissing: (p) => `(Chỉ gửi được ${p.posted} trên ${p.parts} phần âm thanh.)`,
  audioTooManyParts: (p) => `(Tệp âm thanh quá lớn để đính kèm ở đây, kể cả khi chia nhỏ: cần ${p.parts} tệp theo giới hạn tải lên của máy chủ này, mà mình chỉ gửi tối đa ${p.max} tệp.)`,
  tokenExpiredPrefix: (p) => `<@${p.userId}> bài đọc của bạn đã xong:`,
  resultByDm: (p) => `Bài đọc của bạn đã xong. Mình không đăng được trong <#${p.channelId}>, nên gửi bạn ở đây:`,
  resultByDmNoChannel: () => 'Bài đọc của bạn đã xong. Mình không đăng được trong kênh, nên gửi bạn ở đây:',

  stopped: (p) => (p.count > 0 ? `⏹️ Đã dừng và xoá ${p.count} bài.` : '⏹️ Không có gì đang phát.'),
  skipped: (p) => `⏭️ Đã bỏ qua bài của ${p.who}.`,
  nothingPlaying: () => 'Hiện không có gì đang phát.',
  left: () => '👋 Đã rời kênh thoại.',
  notConnected: () => 'Mình không ở kênh thoại nào trong máy chủ này.',
  queueEmpty: () => 'Hàng đợi trống.',
  queueTitle: (p) => `**Danh sách đọc** (${p.count}, tối đa ${p.max} bài chờ):`,
  queueRowPlaying: (p) => `▶️ <@${p.who}> — \`${p.words}\` · ${p.bar}`,
  queueRowPreparing: (p) => `🎙️ <@${p.who}> — \`${p.words}\` · đang chuẩn bị ${p.bar}`,
  queueRowWaiting: (p) => `${p.n}. <@${p.who}> — \`${p.words}\`${p.ready ? ' · đang chuẩn bị' : ''}`,
  voicesTitle: (p) => `**Giọng đọc** (${p.count}):`,
  voiceDefault: () => 'mặc định',
  voiceNotOnWorker: () => 'chưa cài trên máy chủ giọng nói',
  voicesWorkerUnreachable: () => '(Không hỏi được máy chủ giọng nói về các giọng đã cài.)',

  cmdPauseDescription: 'Tạm dừng bài đang đọc (âm thanh vẫn tiếp tục được chuẩn bị)',
  cmdResumeDescription: 'Đọc tiếp bài đang tạm dừng',
  pausedByUser: (p) => `⏸️ ${p.by} đã tạm dừng. Bấm ⏯️ hoặc dùng /resume để đọc tiếp.`,
  pausedReply: (p) => `⏸️ ${p.who} đã tạm dừng bài đọc.`,
  resumedReply: (p) => `▶️ ${p.who} đã cho đọc tiếp.${p.waitingForListeners ? ' Mình sẽ đọc khi có người trong kênh thoại.' : ''}`,
  alreadyPaused: () => 'Bài đọc đang tạm dừng rồi. Dùng /resume để đọc tiếp.',
  notPaused: () => 'Bài đọc không bị tạm dừng.',
  controlEnded: () => 'Bài đọc này đã kết thúc.',
  controlNotStarted: () => 'Bài đọc này chưa bắt đầu phát.',
  nothingToReplay: () => 'Chưa phát gì để quay lại.',

  errVoiceUnknown: (p) => `Không có giọng này. Hãy chọn một trong: ${p.voices}.`,
  errVoiceNotInstalled: () => 'Giọng này được phép dùng nhưng chưa được cài trên máy chủ đọc. Hãy chọn giọng khác (/voices) hoặc báo quản trị viên.',
  errSpeed: (p) => `Tốc độ phải trong khoảng ${p.min} đến ${p.max}.`,
  errTextTooLong: (p?: TooLong) =>
    p === undefined
      ? 'Văn bản quá dài. Hãy chia thành nhiều phần nhỏ hơn.'
      : p.expanded
        ? `Văn bản quá dài khi đọc thành lời cả tên được nhắc và mốc thời gian: ${p.chars} ký tự cần đọc, giới hạn là ${p.max}. Hãy chia thành nhiều phần nhỏ hơn.`
        : `Văn bản quá dài: ${p.chars} ký tự, giới hạn là ${p.max}. Hãy chia thành nhiều phần nhỏ hơn.`,
  errTooManyTimestamps: (p?: { max: number }) =>
    p === undefined
      ? 'Văn bản có quá nhiều mốc thời gian Discord (`<t:…>`) để đọc trong một lần. Hãy chia thành nhiều phần nhỏ hơn.'
      : `Văn bản có hơn ${p.max} mốc thời gian Discord (\`<t:…>\`); mỗi lần đọc tôi chỉ đọc tối đa ${p.max}. Hãy chia thành nhiều phần nhỏ hơn.`,
  errNothingSpeakable: () => 'Không có gì để đọc: văn bản trống sau khi bỏ liên kết, emoji và định dạng.',
  errWorkerBusy: () => 'Máy chủ giọng nói đang bận. Hãy thử lại sau một phút.',
  errColdStart: () => 'Không có máy chủ giọng nói nào sẵn sàng kịp (có thể đang khởi động). Hãy thử lại sau một phút.',
  errServiceDown: () => 'Dịch vụ giọng nói đang gặp sự cố. Hãy thử lại sau.',
  errNetwork: () => 'Không kết nối được tới dịch vụ giọng nói. Hãy thử lại sau.',
  errAuth: () => 'Dịch vụ giọng nói từ chối thông tin đăng nhập của bot. Nhờ quản trị bot kiểm tra RunPod API key.',
  errEndpoint: () => 'Không tìm thấy endpoint của dịch vụ giọng nói. Nhờ quản trị bot kiểm tra RunPod endpoint id.',
  errConfig: () => 'Bot chưa được cấu hình đúng. Nhờ quản trị bot xem nhật ký (log).',
  errSynthesisFailed: () => 'Máy chủ giọng nói bị lỗi với đoạn văn này.',
  errTimeout: () => 'Việc đọc mất quá lâu nên đã bị dừng.',
  errCancelled: () => 'Việc đọc đã bị huỷ.',
  errVoiceConnect: () => 'Mình không kết nối được vào kênh thoại. Hãy thử lại sau.',
  errUnexpected: () => 'Có lỗi xảy ra phía bot. Hãy thử lại.',

  // --- outputs, /status, warm-up (issue 12) ---
  optOutputDescription: 'Nơi nhận âm thanh: kênh thoại của bạn (mặc định), một tệp, hoặc tin nhắn thoại',
  outputChoiceVoice: 'kênh thoại',
  outputChoiceFile: 'tệp (không cần kênh thoại)',
  outputChoiceVoiceMessage: 'tin nhắn thoại (không cần kênh thoại)',
  cmdStatusDescription: 'Xem tình trạng máy chủ giọng nói và bot',
  notInVoiceTryOutputs: () =>
    'Hãy vào một kênh thoại trước, rồi dùng lại `/narrate` — hoặc dùng `output:file` hay `output:voice_message`, không cần kênh thoại.',
  doneFile: (p) => `✅ Đã đọc · ${p.duration} · giọng **${p.voice}** · tốc độ ${p.speed} · dạng tệp`,
  doneVoiceMessage: (p) => `✅ Đã đọc · ${p.duration} · giọng **${p.voice}** · tốc độ ${p.speed} · đã gửi tin nhắn thoại bên dưới`,
  voiceMessageFallback: (p) => `🎙️ Mình không gửi được tin nhắn thoại (${p.why}), nên đính kèm dạng tệp.`,
  voiceMessageNoPermission: () => 'mình thiếu quyền **Gửi tin nhắn thoại** ở đây',
  voiceMessageTooLarge: () => 'nó lớn hơn giới hạn tải lên của máy chủ',
  voiceMessageRefused: () => 'Discord từ chối',
  gpuStarting: (p) => `🧊 GPU đang khởi động — khoảng ${p.seconds} giây nữa sẽ có âm thanh đầu tiên.`,
  statusTitle: () => '**Tình trạng Narrator**',
  statusRunpod: (p) =>
    `Máy chủ: **RunPod** — worker: ${p.idle} rảnh, ${p.running} đang chạy, ${p.initializing} đang khởi động, ${p.throttled} bị giới hạn · job: ${p.inQueue} đang chờ, ${p.inProgress} đang chạy`,
  statusRunpodDown: (p) => `Máy chủ: **RunPod** — kiểm tra sức khoẻ thất bại (${p.reason})`,
  statusFlask: (p) => (p.ok ? `Máy chủ: **Flask** — \`/voices\` truy cập được (${p.voices ?? 0} giọng)` : 'Máy chủ: **Flask** — không truy cập được `/voices`'),
  statusLocal: () => 'Máy chủ: **local** (giọng ngoại tuyến, espeak-ng)',
  statusNarrations: (p) => `Bài đọc: ${p.playing} đang phát, ${p.queued} đang chờ trong ${p.guilds} máy chủ, ${p.detached} dạng tệp/tin nhắn thoại`,
  statusScheduler: (p) => `Khe GPU: ${p.busy}/${p.slots} bận, ${p.waiting} đoạn đang chờ` + (p.held > 0 ? `, ${p.held} đoạn tạm giữ đến khi người nghe sắp nghe tới` : ''),
  statusCache: (p) => `Bộ nhớ đệm: ${p.mb} MB trong ${p.files} tệp, tỉ lệ trúng ${p.hitRate}`,
  statusUptime: (p) => `Thời gian chạy: ${p.uptime}`,
  limitRole: (p) => `Chỉ thành viên có vai trò <@&${p.roleId}> mới được dùng bot đọc trong máy chủ này.`,
  limitMaxChars: (p) => `Giới hạn của máy chủ: ${p.limit} ký tự mỗi bài; bài này có ${p.asked}. Hãy rút ngắn hoặc chia thành nhiều phần.`,
  limitDailyChars: (p) =>
    `Giới hạn của máy chủ: ${p.limit} ký tự mỗi ngày, đã dùng ${p.used}; bài này cần ${p.asked}. Đặt lại sau ${p.resetsIn}.`,
  limitUserDailyChars: (p) =>
    `Giới hạn của bạn trong máy chủ này: ${p.limit} ký tự mỗi ngày, đã dùng ${p.used}; bài này cần ${p.asked}. Đặt lại sau ${p.resetsIn}.`,
  limitCooldown: (p) => `Chậm lại một chút: mỗi thành viên chỉ được đọc một bài mỗi ${p.limit} giây. Hãy thử lại sau ${p.resetsIn}.`,
  limitsUnavailable: () => 'Hiện mình không kiểm tra được giới hạn của máy chủ (cơ sở dữ liệu cài đặt không truy cập được), nên sẽ không đọc. Hãy thử lại sau một phút.',
  resumedAfterRestart: () => '🔁 Đọc tiếp sau khi khởi động lại.',
  resumedInChannel: (p) => `🔁 <@${p.userId}> bài đọc của bạn được đọc tiếp sau khi bot khởi động lại.`,
  suspendedForRestart: () => '⏸️ Bot đang khởi động lại: bài này sẽ được đọc tiếp từ đây khi bot quay lại.',
  notResumed: () => '👋 Không đọc tiếp sau khi khởi động lại: không còn ai trong kênh thoại.',
  durationHM: (p) => (p.h > 0 ? `${p.h} giờ ${p.m} phút` : `${p.m} phút`),
  durationS: (p) => `${p.s} giây`,

  cmdSettingsDescription: 'Cài đặt của máy chủ cho bot đọc (cần quyền Quản lý máy chủ)',
  subSettingsShowDescription: 'Xem mọi cài đặt cùng giá trị mặc định',
  subSettingsVoiceDescription: 'Chọn giọng mặc định của máy chủ',
  optSettingsVoiceDescription: 'Giọng mặc định (để trống để về mặc định của bot)',
  subSettingsSpeedDescription: 'Chọn tốc độ mặc định của máy chủ',
  optSettingsSpeedDescription: 'Tốc độ, từ 0.5 đến 2.0 (để trống để về mặc định của bot)',
  subSettingsLimitsDescription: 'Đặt giới hạn ký tự và thời gian chờ (không chọn gì: xem giới hạn)',
  optMaxCharsDescription: 'Số ký tự mỗi bài, tối đa 6000 (0 = mặc định của bot)',
  optDailyCharsDescription: 'Số ký tự mỗi ngày cho cả máy chủ, theo ngày UTC (0 = không giới hạn)',
  optUserDailyCharsDescription: 'Số ký tự mỗi ngày cho mỗi thành viên, theo ngày UTC (0 = không giới hạn)',
  optCooldownDescription: 'Số giây mỗi thành viên phải chờ giữa hai bài (0 = không chờ)',
  subSettingsRoleDescription: 'Chỉ thành viên có vai trò này mới được dùng bot đọc',
  optRoleDescription: 'Vai trò (để trống để ai cũng dùng được)',
  subSettingsAliasDescription: 'Đặt tên cho một giọng để dùng trong [thẻ] của kịch bản',
  optAliasNameDescription: 'Tên thẻ, ví dụ minh cho [minh]',
  optAliasVoiceDescription: 'Giọng mà thẻ đó dùng (để trống để xoá bí danh)',
  subSettingsResetDescription: 'Đưa mọi cài đặt về mặc định',
  cmdVoiceDescription: 'Giọng và tốc độ mặc định của riêng bạn trong máy chủ này',
  subVoiceSetDescription: 'Chọn giọng và tốc độ dùng khi /narrate không ghi giọng',
  optMyVoiceDescription: 'Giọng của bạn',
  subVoiceShowDescription: 'Xem giọng và tốc độ của bạn',
  subVoiceResetDescription: 'Bỏ giọng và tốc độ của bạn (dùng mặc định của máy chủ)',
  cmdUsageDescription: 'Chi phí của các bài đọc: số ký tự và thời gian GPU',
  subUsageServerDescription: 'Máy chủ này, hôm nay và 30 ngày qua (cần quyền Quản lý máy chủ)',
  subUsageMeDescription: 'Các bài đọc của bạn, hôm nay và 30 ngày qua',
  cmdDictionaryDescription: 'Cách đọc các từ trong máy chủ này',
  subDictionaryAddDescription: 'Thêm hoặc sửa một từ (cần quyền Quản lý máy chủ)',
  optDictionaryWordDescription: 'Từ như khi viết, ví dụ TP.HCM',
  optDictionarySayDescription: 'Đọc thành gì, ví dụ Thành phố Hồ Chí Minh',
  subDictionaryRemoveDescription: 'Xoá một từ (cần quyền Quản lý máy chủ)',
  subDictionaryListDescription: 'Danh sách các từ và cách đọc',

  needManageServer: () => 'Chỉ thành viên có quyền **Quản lý máy chủ** (Manage Server) mới làm được việc này.',
  storageMissing: () => 'Không có cài đặt: bot này đang chạy không có cơ sở dữ liệu.',
  errStorageUnavailable: () => 'Hiện không kết nối được tới cơ sở dữ liệu cài đặt nên mình chưa làm được việc này. Hãy thử lại sau một phút.',
  settingsTitle: () => '**Cài đặt của máy chủ**',
  settingsRow: (p) => `• ${p.label}: **${p.value}** (mặc định: ${p.fallback})`,
  labelVoice: 'Giọng',
  labelSpeed: 'Tốc độ',
  labelMaxChars: 'Số ký tự mỗi bài',
  labelDailyChars: 'Số ký tự mỗi ngày, cả máy chủ',
  labelUserDailyChars: 'Số ký tự mỗi ngày, mỗi thành viên',
  labelCooldown: 'Thời gian chờ giữa hai bài',
  labelRole: 'Ai được dùng bot đọc',
  labelAliases: 'Bí danh giọng',
  valueUnlimited: 'không giới hạn',
  valueNone: 'không có',
  valueEveryone: 'mọi người',
  valueSeconds: (p) => `${p.seconds} giây`,
  settingsVoiceSet: (p) => `✅ Giọng mặc định của máy chủ giờ là **${p.voice}**.`,
  settingsVoiceCleared: (p) => `✅ Giọng mặc định của máy chủ đã về mặc định của bot (**${p.voice}**).`,
  settingsSpeedSet: (p) => `✅ Tốc độ mặc định của máy chủ giờ là **${p.speed}**.`,
  settingsSpeedCleared: (p) => `✅ Tốc độ mặc định của máy chủ đã về mặc định của bot (**${p.speed}**).`,
  settingsLimitsSaved: () => '✅ Đã lưu giới hạn.',
  settingsLimitsTitle: () => '**Giới hạn**',
  settingsRoleSet: (p) => `✅ Giờ chỉ thành viên có <@&${p.roleId}> mới được dùng bot đọc.`,
  settingsRoleCleared: () => '✅ Mọi người lại được dùng bot đọc.',
  settingsReset: () => '✅ Mọi cài đặt đã về mặc định.',
  aliasSet: (p) => `✅ \`[${p.alias}]\` giờ đọc bằng giọng **${p.voice}**.`,
  aliasRemoved: (p) => `✅ Đã xoá bí danh \`${p.alias}\`.`,
  aliasUnknown: (p) => `Không có bí danh \`${p.alias}\`.`,
  aliasInvalid: (p) => `Bí danh gồm 1 đến ${p.max} chữ cái, chữ số, - hoặc _, có ít nhất một chữ cái (ví dụ \`minh\`).`,
  aliasTooMany: (p) => `Máy chủ này đã có ${p.max} bí danh. Hãy xoá bớt một cái trước.`,
  voicePrefsTitle: () => '**Giọng của bạn**',
  voicePrefsRow: (p) => `• ${p.label}: **${p.value}** (${p.source})`,
  sourceMine: 'bạn chọn',
  sourceServer: 'mặc định của máy chủ',
  sourceBot: 'mặc định của bot',
  voicePrefsSaved: (p) => `✅ Khi /narrate không ghi giọng, bài của bạn sẽ đọc bằng giọng **${p.voice}**${p.speed ? ` với tốc độ **${p.speed}**` : ''}.`,
  voicePrefsReset: () => '✅ Đã bỏ giọng và tốc độ của bạn: dùng lại mặc định của máy chủ.',
  usageTitleServer: () => '**Mức dùng của máy chủ này**',
  usageTitleMe: () => '**Mức dùng của bạn trong máy chủ này**',
  usageToday: 'Hôm nay (UTC)',
  usageLast30: '30 ngày qua',
  usageRow: (p) => `• ${p.label}: ${p.n} bài · ${p.chars} ký tự (${p.synthesized} ký tự tạo mới) · ${p.gpu} giây GPU · ≈ ${p.cost}`,
  usageTopTitle: () => '**Thành viên dùng nhiều nhất, 30 ngày qua**',
  usageTopRow: (p) => `${p.rank}. <@${p.userId}> — ${p.n} bài · ${p.chars} ký tự · ${p.gpu} giây GPU · ≈ ${p.cost}`,
  usagePrice: (p) => `-# Chi phí ước tính theo ${p.price} mỗi giây GPU; phần đọc lấy từ bộ nhớ đệm không tốn gì.`,
  usageNothing: () => 'Chưa có bài đọc nào trong 30 ngày qua.',
  dictionaryAdded: (p) => `✅ \`${p.word}\` giờ được đọc là \`${p.say}\`.`,
  dictionaryChanged: (p) => `✅ \`${p.word}\` giờ được đọc là \`${p.say}\` (đã sửa).`,
  dictionaryRemoved: (p) => `✅ Đã xoá \`${p.word}\` khỏi từ điển.`,
  dictionaryNotFound: (p) => `\`${p.word}\` không có trong từ điển.`,
  dictionaryTitle: (p) => `**Từ điển cách đọc** (${p.count}/${p.max}):`,
  dictionaryEmpty: () => 'Từ điển đang trống. Quản trị viên có thể thêm từ bằng `/dictionary add`.',
  dictionaryMore: (p) => `…và ${p.more} từ nữa: danh sách đầy đủ ở tệp đính kèm.`,
  errDictionaryWordInvalid: () => 'Từ phải có ít nhất một chữ cái hoặc chữ số, ghi như khi viết (ví dụ `TP.HCM`).',
  errDictionaryWordTooLong: (p) => `Từ quá dài: tối đa ${p.max} ký tự.`,
  errDictionarySayInvalid: () => 'Cách đọc phải có ít nhất một chữ cái hoặc chữ số (liên kết và emoji không được đọc), ví dụ `Thành phố Hồ Chí Minh`.',
  errDictionarySayTooLong: (p) => `Cách đọc quá dài: tối đa ${p.max} ký tự.`,
  errDictionaryFull: (p) => `Từ điển đã đầy (${p.max} từ). Hãy xoá bớt một từ trước.`,
  errDictionaryEntryInvalid: (p) => `Mỗi từ dài 1 đến ${p.word} ký tự, cách đọc dài 1 đến ${p.say} ký tự.`,
  // --- more ways in: /narrate file:, lệnh "Đọc to" trên tin nhắn (issue 11) ---
  optFileDescription: 'Tệp .txt, .md, .srt hoặc .vtt để đọc thay cho văn bản',
  optTextOrFileDescription: 'Văn bản cần đọc (tối đa 6000 ký tự); hoặc đính kèm một tệp',
  cmdNarrateMessageName: 'Đọc to',
  narrateTextAndFile: () => 'Hãy đưa `văn-bản` hoặc `tệp`, không phải cả hai.',
  narrateNoInput: () => 'Hãy đưa một `văn-bản` để đọc, hoặc đính kèm một `tệp` (.txt, .md, .srt hoặc .vtt).',
  fileExtension: (p) =>
    `Mình đọc được tệp ${p.accepted}${p.extension ? `, không đọc được \`${p.extension}\`` : ''}. Hãy lưu văn bản thành một trong các dạng đó rồi thử lại.`,
  fileBinary: (p) =>
    p.format ? `Tệp này là ${p.format}, không phải văn bản. Hãy đính kèm tệp .txt, .md, .srt hoặc .vtt.` : 'Tệp này chứa dữ liệu nhị phân, không phải văn bản. Hãy đính kèm tệp .txt, .md, .srt hoặc .vtt.',
  fileEncoding: () => 'Tệp này không phải văn bản UTF-8 hay UTF-16. Hãy lưu lại dưới dạng UTF-8 (thường ở “Lưu thành… / Mã hoá”) rồi thử lại.',
  fileTooLarge: (p) => `Tệp quá lớn${p.size ? ` (${p.size})` : ''}: mình chỉ đọc tệp tối đa ${p.limit}. Hãy chia thành các tệp nhỏ hơn.`,
  fileEmpty: () => 'Tệp này không có chữ nào để đọc.',
  fileDownloadFailed: () => 'Mình không tải được tệp từ Discord. Hãy thử lại sau giây lát.',
  fileDownloadTimeout: () => 'Tải tệp quá lâu. Hãy thử lại sau giây lát.',
  fileSource: () => 'Mình chỉ đọc tệp được đính kèm trên Discord.',
  fileFormatName: (p) =>
    ({ png: 'một ảnh PNG', jpeg: 'một ảnh JPEG', gif: 'một ảnh GIF', webp: 'một ảnh WebP', pdf: 'một tài liệu PDF', zip: 'một tệp nén ZIP (tệp .docx cũng vậy)', gzip: 'một tệp nén gzip', wav: 'một bản ghi WAV', mp3: 'một bản ghi MP3', ogg: 'một bản ghi Ogg', mp4: 'một video MP4', exe: 'một chương trình' })[p.format] ?? 'dữ liệu nhị phân',
  fileQuote: (p) => `📄 ${p.name}`,
  messageLink: (p) => `💬 ${p.url}`,
  messageNothingToRead: () => 'Tin nhắn đó không có gì để đọc: không có chữ, cũng không có tệp .txt hay .md đính kèm.',
  messageNotInVoice: () => 'Hãy vào một kênh thoại trước, rồi dùng lại **Ứng dụng → Đọc to** trên tin nhắn.',

  // --- several voices in one narration (issue 11): voice tags ---
  errVoiceTagUnknown: (p) =>
    `Văn bản dùng thẻ giọng ${p.tag}, nhưng không có giọng hay bí danh nào tên như vậy, nên chưa đọc gì. Các tên hợp lệ: ${p.known}. (Quản trị viên có thể thêm bằng \`/settings alias\`.)`,
};

/** Vietnamese names of the commands and options (Discord: lowercase letters, digits, - and _; ≤ 32 chars). */
export const VI_NAMES = {
  narrate: 'đọc',
  text: 'văn-bản',
  voice: 'giọng',
  speed: 'tốc-độ',
  stop: 'dừng',
  skip: 'bỏ-qua',
  queue: 'hàng-đợi',
  leave: 'rời-kênh',
  voices: 'các-giọng',
  output: 'đầu-ra',
  status: 'trạng-thái',
  // /settings /voice /usage /dictionary (issue 10); /voice itself is `voice` above
  settings: 'cài-đặt',
  show: 'xem',
  limits: 'giới-hạn',
  max_chars: 'ký-tự-mỗi-bài',
  daily_chars: 'ký-tự-mỗi-ngày',
  user_daily_chars: 'ký-tự-mỗi-người',
  cooldown: 'thời-gian-chờ',
  role: 'vai-trò',
  alias: 'bí-danh',
  name: 'tên',
  reset: 'đặt-lại',
  set: 'chọn',
  usage: 'mức-dùng',
  server: 'máy-chủ',
  me: 'của-tôi',
  dictionary: 'từ-điển',
  add: 'thêm',
  remove: 'xoá',
  list: 'danh-sách',
  word: 'từ',
  say: 'đọc-là',
  pause: 'tạm-dừng',
  resume: 'tiếp-tục',
  file: 'tệp',
} as const;

export type DescriptionKey = { [K in keyof Texts]: Texts[K] extends string ? K : never }[keyof Texts];

/** A command or option description in English (the default) plus its Vietnamese localization. */
export function described(key: DescriptionKey): { readonly description: string; readonly localizations: { vi: string } } {
  return { description: en[key], localizations: { vi: vi[key] } };
}

export function texts(lang: Lang): Texts {
  return lang === 'vi' ? vi : en;
}

/** Context some error texts need (the allow-list of voices, the speed range, the queue limit). */
export interface ErrorContext {
  readonly voices?: readonly string[];
  readonly speedMin?: number;
  readonly speedMax?: number;
  readonly maxQueue?: number;
  /** The dictionary's limits (dictionary_* codes). */
  readonly dictionaryMaxEntries?: number;
  readonly dictionaryMaxWord?: number;
  readonly dictionaryMaxSay?: number;
}

/**
 * The short, specific text for any failure. Codes the engine and the bot throw are mapped one by one; an unknown
 * code falls back on its kind; anything that is not a NarratorError is "something went wrong on my side".
 */
export function errorText(lang: Lang, err: unknown, ctx: ErrorContext = {}): string {
  const t = texts(lang);
  if (!isNarratorError(err)) return t.errUnexpected();
  if (err instanceof TextTooLongError) return t.errTextTooLong(err);
  if (err instanceof TooManyTimestampsError) return t.errTooManyTimestamps(err);
  if (err instanceof TextFileError) return fileProblemText(lang, err.problem);
  if (err instanceof VoiceTagUnknownError) return t.errVoiceTagUnknown(voiceTagParams(err));
  const known = codeText(lang, err.code, ctx);
  if (known !== undefined) return known;
  switch (err.kind) {
    case 'config':
      return t.errConfig();
    case 'transient':
      return t.errServiceDown();
    case 'timeout':
      return t.errTimeout();
    case 'aborted':
      return t.errCancelled();
    case 'permanent':
      return t.errSynthesisFailed();
    case 'user':
      // A user error the table does not know yet: its message is written for users (English only).
      return lang === 'en' ? err.message : t.errUnexpected();
  }
}

/** The unknown tag and the known names as code (a name may hold `_`), the list cut to fit any reply. */
function voiceTagParams(err: VoiceTagUnknownError): { tag: string; known: string } {
  const names = err.known.map((name) => `\`[${inlineCodeSafe(name)}]\``);
  // Whole names only (a cut inside one would open a code span that never closes).
  let length = 0;
  const shown = names.filter((name) => (length += name.length + 2) <= 1200);
  const known = shown.join(', ') + (shown.length < names.length ? ', …' : '');
  return { tag: `\`[${inlineCodeSafe(err.tag)}]\``, known: known || '—' };
}

/** The text for one error code, or undefined when this table does not know the code. */
export function codeText(lang: Lang, code: string, ctx: ErrorContext = {}): string | undefined {
  const t = texts(lang);
  switch (code) {
    case 'voice_unknown':
      return t.errVoiceUnknown({ voices: ctx.voices?.length ? ctx.voices.join(', ') : '/voices' });
    case 'voice_not_installed':
      return t.errVoiceNotInstalled();
    case 'speed_out_of_range':
    case 'speed_invalid':
    case 'bad_speed':
      return t.errSpeed({ min: ctx.speedMin ?? 0.5, max: ctx.speedMax ?? 2 });
    case 'text_too_long':
      return t.errTextTooLong();
    case 'too_many_timestamps':
      return t.errTooManyTimestamps();
    case 'nothing_speakable':
      return t.errNothingSpeakable();
    case 'queue_full':
      return t.queueFull({ max: ctx.maxQueue ?? 0 });
    case 'shutting_down':
      return t.shuttingDown();
    case 'busy_elsewhere':
      return t.busyElsewhereAny();
    case 'voice_connect_failed':
      return t.errVoiceConnect();
    case 'worker_busy':
    case 'rate_limited':
    case 'duplicate_job':
      return t.errWorkerBusy();
    case 'job_expired':
      return t.errColdStart();
    case 'server_error':
    case 'download_failed':
    case 'bad_response':
    case 'no_output':
      return t.errServiceDown();
    case 'network':
      return t.errNetwork();
    case 'runpod_auth':
      return t.errAuth();
    case 'endpoint_not_found':
      return t.errEndpoint();
    case 'bad_config':
    case 'local_tts_missing':
      return t.errConfig();
    case 'handler_crashed':
    case 'inference_failed':
    case 'tts_failed':
    case 'worker_error':
    case 'bad_audio':
    case 'bad_request':
    case 'local_tts_failed':
      return t.errSynthesisFailed();
    case 'job_timed_out':
    case 'job_deadline':
    case 'narration_deadline':
    case 'worker_timeout':
      return t.errTimeout();
    case 'cancelled_remotely':
    case 'aborted':
      return t.errCancelled();
    // storage and the commands of issue 10
    case 'storage_unavailable':
      return t.errStorageUnavailable();
    case 'dictionary_full':
      return t.errDictionaryFull({ max: ctx.dictionaryMaxEntries ?? 200 });
    case 'dictionary_word_invalid':
      return t.errDictionaryWordInvalid();
    case 'dictionary_word_too_long':
      return t.errDictionaryWordTooLong({ max: ctx.dictionaryMaxWord ?? 64 });
    case 'dictionary_say_invalid':
      return t.errDictionarySayInvalid();
    case 'dictionary_say_too_long':
      return t.errDictionarySayTooLong({ max: ctx.dictionaryMaxSay ?? 200 });
    case 'dictionary_entry_invalid':
      return t.errDictionaryEntryInvalid({ word: ctx.dictionaryMaxWord ?? 64, say: ctx.dictionaryMaxSay ?? 200 });
    default:
      return undefined;
  }
}

/** The narration reply's status lines while it is in progress. */
export function renderStatus(lang: Lang, view: NarrationStatusView, ctx: ErrorContext = {}): string {
  const t = texts(lang);
  const bar = progressBar(view.chunksReady, view.chunksTotal);
  const lines: string[] = [];
  if (view.phase === 'queued') lines.push(t.queued({ position: view.queuePosition ?? 1 }));
  else if (view.phase === 'synthesizing') lines.push(t.synthesizing({ bar }));
  else lines.push(t.playing({ bar, channelId: view.channelId }));
  if (view.pausedBy) lines.push(t.pausedByUser({ by: view.pausedBy }));
  if (view.paused) lines.push(t.pausedEmpty());
  if (view.failedMidway !== undefined) {
    lines.push(t.failedMidway({ reason: errorText(lang, view.failedMidway, ctx) }));
  } else if (view.phase !== 'queued' && view.chunksReady < view.chunksTotal) {
    if (view.waiting === 'cold_start') lines.push(t.waitingColdStart());
    else if (view.waiting === 'no_workers') lines.push(t.waitingNoWorkers());
    else if (view.waiting === 'queue') lines.push(t.waitingQueue());
    else if (view.retrying) lines.push(t.retrying({ reason: shortReason(codeText(lang, view.retrying, ctx) ?? view.retrying) }));
  }
  return lines.join('\n');
}

/** Joins status and the quoted text, keeping the whole under Discord's limit (the quote is cut, not the status). */
export function composeMessage(status: string, text: string | undefined): string {
  if (!text) return truncate(status, MESSAGE_LIMIT);
  const room = MESSAGE_LIMIT - status.length - 2;
  if (room < 40) return truncate(status, MESSAGE_LIMIT);
  // quoteText adds the fences (and may add zero-width spaces); leave room for that by quoting a shorter text.
  let max = Math.min(600, room);
  let quoted = quoteText(text, max);
  while (quoted.length > room && max > 20) {
    max = Math.floor(max * 0.8);
    quoted = quoteText(text, max);
  }
  return quoted.length > room ? status : `${status}\n${quoted}`;
}

/** How long until a limit resets, for a refusal: "5 h 12 min", "3 min", "45 s" (rounded up: never "0 min"). */
export function formatResetsIn(lang: Lang, ms: number): string {
  const t = texts(lang);
  const seconds = Math.max(1, Math.ceil(ms / 1000));
  if (seconds < 60) return t.durationS({ s: seconds });
  const minutes = Math.ceil(seconds / 60);
  return t.durationHM({ h: Math.floor(minutes / 60), m: minutes % 60 });
}

/** "The speech workers are busy right now. Try again in a minute." → "The speech workers are busy right now" */
function shortReason(text: string): string {
  const first = text.split(/(?<=[.!?])\s/)[0] ?? text;
  return first.replace(/[.!?]$/, '');
}

/** What the user is told about a file that cannot be narrated (services/input/textFile.ts), naming the problem. */
export function fileProblemText(lang: Lang, problem: TextFileProblem): string {
  const t = texts(lang);
  const size = (bytes: number) => (bytes >= 1024 * 1024 ? `${Math.round((bytes / (1024 * 1024)) * 10) / 10} MiB` : `${Math.ceil(bytes / 1024)} KiB`);
  switch (problem.kind) {
    case 'extension':
      return t.fileExtension({ extension: problem.extension, accepted: ACCEPTED_EXTENSIONS.join(' ') });
    case 'binary':
      return t.fileBinary(problem.format ? { format: t.fileFormatName({ format: problem.format }) } : {});
    case 'encoding':
      return t.fileEncoding();
    case 'too_large':
      return t.fileTooLarge({ limit: size(problem.limitBytes), ...(problem.sizeBytes !== undefined ? { size: size(problem.sizeBytes) } : {}) });
    case 'empty':
      return t.fileEmpty();
    case 'download_failed':
      return t.fileDownloadFailed();
    case 'download_timeout':
      return t.fileDownloadTimeout();
    case 'source':
      return t.fileSource();
  }
}
