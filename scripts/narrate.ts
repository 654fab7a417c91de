/**
 * CLI: narrate text to one WAV file with the configured backend — the whole engine, no Discord.
 *
 *   npm run narrate -- [TEXT] [--file PATH|-] [--voice V] [--voices-map ALIAS=VOICE,…] [--speed S] [--out FILE] [--no-cache] [--json]
 *
 * Voice tags work as in Discord (`[minh] Anh về đi!`, `Minh: …`; src/services/text/voiceTags.ts): tag names are the
 * configured voices and the aliases of --voices-map (what /settings alias stores for a server). An alias or a voice
 * the map cannot use, or an unknown tag in the text, is bad input (exit 2) before any job.
 * A --file is decoded as `/narrate file:` decodes attachments: UTF-8 (BOM or not) or UTF-16 with a BOM, `.srt`/`.vtt`
 * timing stripped, binary data refused (exit 2).
 *
 * Exit codes: 0 success, 2 bad input or configuration, 1 synthesis failure (130 when interrupted).
 * A progress bar goes to stderr; with --json one final JSON line goes to stdout.
 *
 * Ctrl-C: the first SIGINT/SIGTERM aborts the narration, which cancels its jobs on the worker before the process
 * exits; further signals (a second Ctrl-C, or npm forwarding the terminal's SIGINT once more) are acknowledged and
 * never cut that cleanup short — a listener stays installed, so no signal falls through to node's default exit.
 * The WAV is written to a temporary file beside --out and renamed into place only once complete, so --out never
 * holds a half-written file.
 */
import { readFile, rename, rm } from 'node:fs/promises';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { loadConfigFromEnv } from '../src/services/config.js';
import { createEngine, type Engine } from '../src/services/engine.js';
import { NarratorError, isNarratorError, throwIfAborted } from '../src/services/errors.js';
import { createLogger, scrub } from '../src/services/log.js';
import { decodeTextBytes, subtitlesToText, TextFileError, textFileKind, type TextFileProblem } from '../src/services/input/textFile.js';
import { WavFileWriter } from '../src/services/audio/wavFileWriter.js';
import type { NarrationProgress, NarrationSummary } from '../src/services/orchestrator.js';
import { ALIAS_MAX_CHARS, normalizeAlias } from '../src/services/text/index.js';

const USAGE =
  'usage: npm run narrate -- [TEXT] [--file PATH|-] [--voice V] [--voices-map ALIAS=VOICE,…] [--speed S] [--out FILE] [--no-cache] [--json]';

interface CliArgs {
  text: string;
  voice?: string;
  /** --voices-map as given, alias → voice; the voices are checked against the config once it is loaded. */
  voicesMap?: Record<string, string>;
  speed?: number;
  out: string;
  noCache: boolean;
  json: boolean;
}

async function parseCli(argv: string[]): Promise<CliArgs> {
  let parsed;
  try {
    parsed = parseArgs({
      args: argv,
      allowPositionals: true,
      options: {
        file: { type: 'string', short: 'f' },
        voice: { type: 'string', short: 'v' },
        'voices-map': { type: 'string' },
        speed: { type: 'string', short: 's' },
        out: { type: 'string', short: 'o' },
        'no-cache': { type: 'boolean' },
        json: { type: 'boolean' },
        help: { type: 'boolean', short: 'h' },
      },
    });
  } catch (err) {
    throw new NarratorError('user', 'bad_arguments', `${(err as Error).message}\n${USAGE}`);
  }
  const { values, positionals } = parsed;
  if (values.help) {
    process.stdout.write(`${USAGE}\n`);
    process.exit(0);
  }
  if (values.file !== undefined && positionals.length > 0) {
    throw new NarratorError('user', 'bad_arguments', `Give the text either as an argument or with --file, not both.\n${USAGE}`);
  }
  let text: string;
  if (values.file !== undefined) {
    let bytes: Uint8Array;
    try {
      bytes = values.file === '-' ? await readStdin() : await readFile(values.file);
    } catch (err) {
      throw new NarratorError('user', 'bad_file', `Cannot read ${values.file}: ${(err as NodeJS.ErrnoException).code ?? String(err)}.`);
    }
    text = fileText(values.file, bytes);
  } else if (positionals.length > 0) {
    text = positionals.join(' ');
  } else {
    throw new NarratorError('user', 'bad_arguments', `No text given.\n${USAGE}`);
  }
  let speed: number | undefined;
  if (values.speed !== undefined) {
    speed = Number(values.speed);
    if (values.speed.trim() === '' || !Number.isFinite(speed)) {
      throw new NarratorError('user', 'speed_out_of_range', `--speed must be a number (got "${values.speed}").`);
    }
  }
  const voicesMap = values['voices-map'] === undefined ? undefined : parseVoicesMap(values['voices-map']);
  return { text, voice: values.voice, ...(voicesMap ? { voicesMap } : {}), speed, out: values.out ?? 'narration.wav', noCache: values['no-cache'] ?? false, json: values.json ?? false };
}

/** `minh=male_north_2,Lan=female_south` → { minh: 'male_north_2', lan: 'female_south' }; aliases as /settings alias stores them. */
function parseVoicesMap(spec: string): Record<string, string> {
  const map: Record<string, string> = {};
  for (const entry of spec.split(',')) {
    const [rawAlias, voice, extra] = entry.split('=').map((s) => s.trim());
    const alias = rawAlias === undefined ? undefined : normalizeAlias(rawAlias);
    if (alias === undefined || !voice || extra !== undefined) {
      throw new NarratorError(
        'user',
        'bad_arguments',
        `--voices-map: "${entry.trim()}" is not ALIAS=VOICE (an alias is 1–${ALIAS_MAX_CHARS} letters, digits, _ or -, with a letter).\n${USAGE}`,
      );
    }
    if (Object.hasOwn(map, alias) && map[alias] !== voice) {
      throw new NarratorError('user', 'bad_arguments', `--voices-map: the alias "${alias}" is given twice.`);
    }
    map[alias] = voice;
  }
  return map;
}

/** Every voice of the map must be a configured one: a typo must not wait for the first tag that uses it. */
function checkVoicesMap(map: Readonly<Record<string, string>>, voices: readonly string[]): void {
  for (const [alias, voice] of Object.entries(map)) {
    if (!voices.includes(voice)) {
      throw new NarratorError('user', 'voice_unknown', `--voices-map: ${alias}=${voice}: unknown voice "${voice}". Available: ${voices.join(', ')}.`);
    }
  }
}

async function readStdin(): Promise<Uint8Array> {
  const parts: Buffer[] = [];
  for await (const part of process.stdin) parts.push(part as Buffer);
  return Buffer.concat(parts);
}

/**
 * The same decoding as `/narrate file:` (services/input/textFile.ts): UTF-8 with or without BOM, UTF-16 LE/BE with a
 * BOM, binary refused, `.srt`/`.vtt` timing stripped. Any other name (or stdin) is read as plain text: on the command
 * line the owner's own files are trusted with their names.
 */
function fileText(name: string, bytes: Uint8Array): string {
  const why = (problem: TextFileProblem): string => {
    switch (problem.kind) {
      case 'binary':
        return `it holds binary data${problem.format ? ` (a ${problem.format.toUpperCase()} file)` : ''}, not text`;
      case 'encoding':
        return 'it is not UTF-8 or UTF-16 (with a byte-order mark) text; save it as UTF-8';
      case 'empty':
        return 'it has no text';
      default:
        return problem.kind;
    }
  };
  try {
    const text = decodeTextBytes(bytes);
    const kind = name === '-' ? undefined : textFileKind(name);
    const result = kind === 'subtitles' ? subtitlesToText(text) : text;
    if (result.trim() === '') throw new TextFileError({ kind: 'empty' });
    return result;
  } catch (err) {
    if (err instanceof TextFileError) throw new NarratorError('user', 'bad_file', `Cannot narrate ${name === '-' ? 'stdin' : name}: ${why(err.problem)}.`);
    throw err;
  }
}

/** Why jobs wait, as RunPod's /health tells (runpod.ts queueReason): only `cold_start` means workers are starting. */
const WAITING_NOTES: Readonly<Record<'cold_start' | 'no_workers' | 'queue', string>> = {
  cold_start: ' (workers warming up)',
  no_workers: ' (no RunPod workers yet)',
  queue: ' (queued: workers busy)',
};

/** A one-line bar redrawn in place on a terminal; on a pipe, a line every 10 %. */
function progressBar(): (p: NarrationProgress) => void {
  const tty = process.stderr.isTTY;
  let lastDecile = -1;
  let note = '';
  return (p) => {
    if (p.type === 'backend') {
      if (p.event.type === 'waiting') note = WAITING_NOTES[p.event.reason];
      if (p.event.type === 'retry') note = ` (retrying: ${p.event.reason})`;
      return;
    }
    const total = p.total;
    const ratio = p.done / total;
    if (tty) {
      const width = 30;
      const filled = Math.round(ratio * width);
      process.stderr.write(`\r[${'#'.repeat(filled)}${'.'.repeat(width - filled)}] ${p.done}/${total} chunks${note}   `);
      if (p.done === total) process.stderr.write('\n');
    } else if (Math.floor(ratio * 10) > lastDecile) {
      lastDecile = Math.floor(ratio * 10);
      process.stderr.write(`progress: ${p.done}/${total} chunks${note}\n`);
    }
  };
}

async function run(): Promise<number> {
  const args = await parseCli(process.argv.slice(2));
  const config = await loadConfigFromEnv();
  if (args.voicesMap) checkVoicesMap(args.voicesMap, config.voices);
  const logger = createLogger(config.logLevel);
  const engine: Engine = createEngine(config, logger);
  const abort = new AbortController();
  const onSignal = () => {
    if (!abort.signal.aborted) return abort.abort(new NarratorError('aborted', 'interrupted', 'Interrupted.'));
    if (!repeatedSignalNoted) process.stderr.write('\nnarrate: cancelling the jobs on the worker, one moment…\n');
    repeatedSignalNoted = true;
  };
  let repeatedSignalNoted = false;
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  // Beside --out (same file system, so the rename is atomic), hidden, unique to this process.
  const partial = path.join(path.dirname(args.out), `.${path.basename(args.out)}.${process.pid}.partial`);
  let writer: WavFileWriter | undefined;
  try {
    const narration = engine.orchestrator.narrate({
      text: args.text,
      voice: args.voice,
      ...(args.voicesMap ? { aliases: args.voicesMap } : {}),
      speed: args.speed,
      noCache: args.noCache,
      signal: abort.signal,
      onProgress: progressBar(),
    });
    const iterator = narration.segments();
    let summary: NarrationSummary;
    for (;;) {
      const next = await iterator.next();
      if (next.done) {
        summary = next.value;
        break;
      }
      writer ??= await WavFileWriter.create(partial, next.value.audio.sampleRate);
      await writer.append(next.value.audio.samples);
    }
    throwIfAborted(abort.signal);
    if (writer) {
      const complete = writer;
      writer = undefined;
      await complete.close();
      await rename(partial, args.out);
    }
    const result = {
      out: args.out,
      backend: engine.backend.kind,
      chunks: summary.chunks,
      durationSec: Math.round(summary.durationSec * 1000) / 1000,
      firstAudioMs: summary.firstAudioMs,
      totalMs: summary.totalMs,
      retries: summary.retries,
      cacheHits: summary.cacheHits,
      spokenChars: summary.spokenChars,
      charsSynthesized: summary.charsSynthesized,
      gpuSeconds: summary.gpuSeconds,
    };
    if (args.json) process.stdout.write(`${JSON.stringify(result)}\n`);
    else process.stderr.write(`wrote ${args.out}: ${result.durationSec.toFixed(1)} s of audio, ${result.chunks} chunks in ${(result.totalMs / 1000).toFixed(1)} s (first audio after ${result.firstAudioMs} ms)\n`);
    return 0;
  } finally {
    await writer?.abandon();
    await rm(partial, { force: true });
    await engine.close();
  }
}

run().then(
  (code) => process.exit(code),
  (err: unknown) => {
    const code = isNarratorError(err) ? (err.kind === 'user' || err.kind === 'config' ? 2 : err.kind === 'aborted' ? 130 : 1) : 1;
    const message = err instanceof Error ? err.message : String(err);
    process.stderr.write(`narrate: ${scrub(message)}\n`);
    if (isNarratorError(err) && err.detail && process.env.LOG_LEVEL === 'debug') process.stderr.write(`  detail: ${scrub(err.detail)}\n`);
    process.exit(code);
  },
);
