/**
 * Runs the selected sections of the bench in a fixed order and gathers one BenchResults. The audio path goes first
 * (pure CPU, least disturbed by what came before), then the text path (pure CPU too). The short-narrations memory
 * child has two idle spells of `settleSec`, which overlap the latency section and the fairness, scale and long-narration sections; it narrates
 * only while nothing else is being measured. The playback simulation (stalls) runs after scale; the long narration
 * goes last.
 */
import { runAudioPath } from './audioPath.js';
import { runFairness } from './fairness.js';
import { runLatency } from './latency.js';
import { runLongMemory, startManyMemory } from './memory.js';
import { runPlayback } from './playback.js';
import { machine, summaryRows, type BenchResults } from './report.js';
import { runScale } from './scale.js';
import { runTextPath } from './textPath.js';
import type { BenchSettings } from './settings.js';

export async function runBench(settings: BenchSettings, progress: (line: string) => void = () => undefined): Promise<BenchResults> {
  const started = performance.now();
  const date = new Date().toISOString();
  const on = (section: BenchSettings['sections'][number]): boolean => settings.sections.includes(section);
  const audio = on('audio') ? runAudioPath(settings) : undefined;
  if (audio) progress(`audio path: ${audio.pipeline.xRealtime.toFixed(0)}× realtime`);
  // Pure CPU like the audio path, and before the memory child starts narrating beside it.
  const text = on('text') ? runTextPath(settings) : undefined;
  if (text) progress(`text path: ${text.cases.length} hostile inputs at ${text.sizes.join(', ')} characters`);
  // The short-narrations memory child idles twice for settleSec; the other sections run meanwhile.
  const many = on('memory') ? await startManyMemory(settings, progress) : undefined;
  const latency = on('latency') ? await runLatency(settings, progress) : undefined;
  await many?.resume();
  const fairness = on('fairness') ? await runFairness(settings, progress) : undefined;
  const scale = on('scale') ? await runScale(settings, progress) : undefined;
  const playback = on('playback') ? await runPlayback(settings, progress) : undefined;
  const memory = many ? { long: await runLongMemory(settings, progress), many: await many.result } : undefined;
  const partial = {
    date,
    machine: machine(),
    settings,
    jobModel: { aMs: settings.latency.a * settings.timeScale, bMsPerChar: settings.latency.b * settings.timeScale, jitter: settings.latency.jitter },
    durationSec: (performance.now() - started) / 1000,
    latency,
    audio,
    text,
    memory,
    fairness,
    scale,
    playback,
  };
  return { ...partial, summary: summaryRows(partial) };
}
