/**
 * What `/status` and `npm run status` report: the backend's health (RunPod `/health`, Flask `/voices`
 * reachability, or the local offline voice), the audio cache (size, hit rate), and — for the bot only — its own
 * state (narrations, scheduler slots, uptime). Gathering is bounded in time (a status display must answer even
 * when the backend does not) and every figure the backend sends has been validated (runpod.ts's zod schema);
 * errors are shown as their short message, never with the URL or key. Rendering goes through messages.ts so both
 * languages stay together.
 */
import { readdir, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { isNarratorError } from './errors.js';
import { scrub } from './log.js';
import type { BackendKind } from './tts/backend.js';
import type { RunPodHealth } from './tts/runpod.js';
import { texts, type Lang } from '../messages.js';

export type BackendStatus =
  | { readonly kind: 'runpod'; readonly health?: RunPodHealth; readonly error?: string }
  | { readonly kind: 'flask'; readonly ok: boolean; readonly voices?: number }
  | { readonly kind: 'local' };

/** The parts of a backend a status needs (RunPodBackend has `health`, FlaskBackend `listVoices`). */
export interface StatusBackend {
  readonly kind: BackendKind;
  health?(signal?: AbortSignal): Promise<RunPodHealth>;
  listVoices?(signal?: AbortSignal): Promise<string[]>;
}

export interface CacheStatus {
  readonly bytes: number;
  readonly files: number;
  /** Undefined when this process has not looked anything up (the operator script). */
  readonly hits?: number;
  readonly misses?: number;
}

export interface BotState {
  readonly playing: number;
  readonly queued: number;
  readonly guilds: number;
  readonly detached: number;
  readonly slotsBusy: number;
  readonly slots: number;
  /** Chunks waiting for a GPU slot. */
  readonly chunksWaiting: number;
  /** Chunks not yet needed: held by the look-ahead until the listener nears them, or paused (not contention). */
  readonly chunksHeld?: number;
  readonly uptimeSec: number;
}

export interface StatusReport {
  readonly backend: BackendStatus;
  readonly cache?: CacheStatus;
  readonly bot?: BotState;
}

/** Asks the backend how it is, within `timeoutMs`. */
export async function backendStatus(backend: StatusBackend, timeoutMs = 4_000): Promise<BackendStatus> {
  const signal = AbortSignal.timeout(timeoutMs);
  switch (backend.kind) {
    case 'runpod':
      if (!backend.health) return { kind: 'runpod', error: 'no health check' };
      try {
        return { kind: 'runpod', health: await backend.health(signal) };
      } catch (err) {
        return { kind: 'runpod', error: shortError(err) };
      }
    case 'flask':
      try {
        const voices = await backend.listVoices?.(signal);
        return { kind: 'flask', ok: true, voices: voices?.length };
      } catch {
        return { kind: 'flask', ok: false };
      }
    case 'local':
      return { kind: 'local' };
  }
}

/** Entries and bytes of a cache folder, read from disk (for a process that has not used the cache itself). */
export async function scanCacheDir(dir: string): Promise<CacheStatus> {
  let bytes = 0;
  let files = 0;
  const walk = async (d: string, depth: number): Promise<void> => {
    const entries = await readdir(d, { withFileTypes: true }).catch(() => []);
    for (const e of entries) {
      const p = join(d, e.name);
      if (e.isDirectory() && depth < 2) await walk(p, depth + 1);
      else if (e.isFile() && e.name.endsWith('.bin')) {
        files++;
        bytes += (await stat(p).catch(() => undefined))?.size ?? 0;
      }
    }
  };
  await walk(dir, 0);
  return { bytes, files };
}

export function renderStatusReport(lang: Lang, report: StatusReport): string {
  const t = texts(lang);
  const lines = [t.statusTitle()];
  const b = report.backend;
  if (b.kind === 'runpod') {
    lines.push(
      b.health
        ? t.statusRunpod({ ...b.health.workers, idle: b.health.workers.idle, inQueue: b.health.jobs.inQueue, inProgress: b.health.jobs.inProgress })
        : t.statusRunpodDown({ reason: b.error ?? '?' }),
    );
  } else if (b.kind === 'flask') {
    lines.push(t.statusFlask({ ok: b.ok, voices: b.voices }));
  } else {
    lines.push(t.statusLocal());
  }
  if (report.bot) {
    const s = report.bot;
    lines.push(t.statusNarrations({ playing: s.playing, queued: s.queued, detached: s.detached, guilds: s.guilds }));
    lines.push(t.statusScheduler({ busy: s.slotsBusy, slots: s.slots, waiting: s.chunksWaiting, held: s.chunksHeld ?? 0 }));
  }
  if (report.cache) {
    const c = report.cache;
    const total = (c.hits ?? 0) + (c.misses ?? 0);
    const hitRate = c.hits === undefined || total === 0 ? '—' : `${Math.round((100 * c.hits) / total)}% (${c.hits}/${total})`;
    lines.push(t.statusCache({ mb: (c.bytes / 1024 / 1024).toFixed(1), files: c.files, hitRate }));
  }
  if (report.bot) lines.push(t.statusUptime({ uptime: formatUptime(report.bot.uptimeSec) }));
  return lines.join('\n');
}

export function formatUptime(sec: number): string {
  const s = Math.max(0, Math.floor(sec));
  const d = Math.floor(s / 86_400);
  const h = Math.floor((s % 86_400) / 3600);
  const m = Math.floor((s % 3600) / 60);
  return d > 0 ? `${d}d ${h}h ${m}m` : h > 0 ? `${h}h ${m}m` : `${m}m ${s % 60}s`;
}

function shortError(err: unknown): string {
  if (isNarratorError(err)) return scrub(err.message).slice(0, 200);
  if (err instanceof Error && err.name === 'TimeoutError') return 'timed out';
  return scrub(String(err)).slice(0, 200);
}
