/**
 * Figures 8–10: what the listener hears, simulated from the segments' arrival times.
 *
 * - 8. Stalls: the silence a player would insert because the next segment was not ready. Playback is simulated
 *   from the first segment on (the player calls `setPlaybackStart` then, as the bot's does): segment i plays from
 *   max(its arrival, the end of segment i − 1) for its own length; every gap is a stall. The story with 1, 2 and 6
 *   workers (= MAX_CONCURRENT_JOBS).
 * - 9. Deadline-first vs round-robin: three narrations of different lengths started together on 2 workers; first
 *   audio and stalls of each, under the production scheduler and under a round-robin one (a scheduler option that
 *   only the bench uses).
 * - 10. First audio for a text whose first sentence is ~250 characters: it depends on how `prepareText` cuts the
 *   first chunk, so it shows whatever the current chunker does.
 *
 * Job times are scaled by `timeScale` like everywhere in the bench, so audio lengths are scaled by the same factor
 * for the simulation (the proportion of job time to audio time stays the real one); every figure is reported in
 * real-world seconds (÷ timeScale). The engine's deadline estimates are in real audio time while the jobs are
 * scaled, which only stretches deadlines proportionally: the order they give is the same.
 */
import { prepareText } from '../../src/services/text/index.js';
import { consume, createBenchEngine, PrecomputedVoice, startEmulator, targetOf } from './rig.js';
import type { BenchSettings } from './settings.js';
import { spread, type Spread } from './stats.js';
import { textWithChunks, VIETNAMESE_STORY, WARM_UP_TEXT } from './texts.js';

export const STALL_WORKERS = [1, 2, 6] as const;
export const POLICIES = ['deadline', 'round-robin'] as const;
export type Policy = (typeof POLICIES)[number];

/** One narration as a listener hears it, in real-world seconds. */
export interface Heard {
  readonly chunks: number;
  readonly firstAudioSec: number;
  readonly stalls: number;
  readonly stallSec: number;
  readonly audioSec: number;
}

export interface HeardSummary {
  readonly chunks: number;
  readonly firstAudioSec: Spread;
  readonly stalls: Spread;
  readonly stallSec: Spread;
}

export interface PlaybackResults {
  readonly runs: number;
  readonly storyChunks: number;
  readonly stallsByWorkers: readonly { readonly workers: number; readonly story: HeardSummary }[];
  readonly policyWorkers: number;
  readonly policies: readonly { readonly policy: Policy; readonly narrations: readonly HeardSummary[] }[];
  /** The same text with the short opening chunk (`after`) and without it (`before`: the first chunk is the sentence). */
  readonly longFirst: {
    readonly firstSentenceChars: number;
    readonly after: { readonly firstChunkChars: number; readonly firstAudioSec: Spread };
    readonly before: { readonly firstChunkChars: number; readonly firstAudioSec: Spread };
  };
}

/** Segment arrivals and lengths → what the listener hears (times in this process's ms; lengths in real seconds). */
export function simulatePlayback(t0: number, segments: readonly { readonly at: number; readonly sec: number }[], timeScale: number): Heard {
  let stalls = 0;
  let stallMs = 0;
  let end = Number.NaN;
  let audioSec = 0;
  for (const [i, s] of segments.entries()) {
    audioSec += s.sec;
    const lengthMs = s.sec * 1000 * timeScale;
    if (i === 0) {
      end = s.at + lengthMs;
      continue;
    }
    // Under a millisecond is the event loop, not a gap anyone hears.
    if (s.at > end + 1) {
      stalls++;
      stallMs += s.at - end;
    }
    end = Math.max(end, s.at) + lengthMs;
  }
  const first = segments[0]?.at ?? Number.NaN;
  return { chunks: segments.length, firstAudioSec: (first - t0) / 1000 / timeScale, stalls, stallSec: stallMs / 1000 / timeScale, audioSec };
}

function summarize(heard: readonly Heard[]): HeardSummary {
  return {
    chunks: heard[0]?.chunks ?? 0,
    firstAudioSec: spread(heard.map((h) => h.firstAudioSec)),
    stalls: spread(heard.map((h) => h.stalls)),
    stallSec: spread(heard.map((h) => h.stallSec)),
  };
}

/** A first sentence of at least 250 characters (clauses joined by commas), then a few ordinary ones. */
export function longFirstSentenceText(): { text: string; firstSentenceChars: number } {
  const clauses = [
    'Ngày xưa ở một ngôi làng nhỏ nằm ven con sông lớn',
    'có một cô gái tên là Tấm hiền lành và chăm chỉ',
    'sống cùng người dì ghẻ độc ác và cô em cùng cha khác mẹ tên là Cám',
    'ngày ngày cô ra đồng làm lụng vất vả từ sáng sớm tinh mơ cho đến tận tối mịt',
    'thế nhưng chẳng bao giờ cô than vãn lấy một lời nào với bất kỳ ai trong làng',
    'vì cô tin rằng người hiền thì sẽ gặp được điều lành',
  ];
  let sentence = '';
  for (const clause of clauses) {
    sentence += (sentence ? ', ' : '') + clause;
    if ([...sentence].length >= 250) break;
  }
  sentence += '.';
  return { text: `${sentence}\n\n${textWithChunks(4, 500)}`, firstSentenceChars: [...sentence].length };
}

export async function runPlayback(settings: BenchSettings, progress: (line: string) => void): Promise<PlaybackResults> {
  const runs = Math.min(settings.runs, 3);
  const policyTexts = [textWithChunks(24, 200), textWithChunks(8, 300), textWithChunks(3, 400)];
  const longFirst = longFirstSentenceText();
  const voice = new PrecomputedVoice().prepare([VIETNAMESE_STORY, WARM_UP_TEXT, ...policyTexts, longFirst.text]).prepare([longFirst.text, WARM_UP_TEXT], undefined, 0);

  /** Fresh emulator + engine (warmed up), then `texts` narrated at once and heard. */
  const hear = async (seed: number, workers: number, policy: Policy, texts: readonly string[], firstChunkChars?: number): Promise<Heard[]> => {
    const emulator = await startEmulator(settings, { workers, seed, voice });
    const engine = createBenchEngine(targetOf(emulator), workers, { schedulerPolicy: policy, firstChunkChars });
    try {
      await consume(engine.orchestrator.narrate({ text: WARM_UP_TEXT }));
      const t0 = performance.now();
      return await Promise.all(
        texts.map(async (text) => {
          const narration = engine.orchestrator.narrate({ text });
          const arrivals: { at: number; sec: number }[] = [];
          await consume(narration, (segment) => {
            const at = performance.now();
            if (segment.index === 0) narration.setPlaybackStart(at);
            arrivals.push({ at, sec: segment.audio.samples.length / segment.audio.sampleRate });
          });
          return simulatePlayback(t0, arrivals, settings.timeScale);
        }),
      );
    } finally {
      await engine.close();
      await emulator.close();
    }
  };

  const stallsByWorkers: { workers: number; story: HeardSummary }[] = [];
  for (const workers of STALL_WORKERS) {
    const heard: Heard[] = [];
    for (let r = 0; r < runs; r++) heard.push((await hear(300 + r, workers, 'deadline', [VIETNAMESE_STORY]))[0]!);
    stallsByWorkers.push({ workers, story: summarize(heard) });
    progress(`playback: story on ${workers} worker(s): stalls ${heard.map((h) => `${h.stalls} (${h.stallSec.toFixed(1)} s)`).join(', ')}`);
  }

  const policyWorkers = 2;
  const policies: { policy: Policy; narrations: HeardSummary[] }[] = [];
  for (const policy of POLICIES) {
    const perRun: Heard[][] = [];
    for (let r = 0; r < runs; r++) perRun.push(await hear(400 + r, policyWorkers, policy, policyTexts));
    const narrations = policyTexts.map((_, n) => summarize(perRun.map((run) => run[n]!)));
    policies.push({ policy, narrations });
    progress(
      `playback: ${policy}, three narrations on ${policyWorkers} workers: ` +
        narrations.map((n) => `${n.chunks} chunks first audio ${n.firstAudioSec.median.toFixed(1)} s, ${n.stalls.median} stalls (${n.stallSec.median.toFixed(1)} s)`).join('; '),
    );
  }

  const opening = async (firstChunkChars: number | undefined, label: string) => {
    const firstAudio: number[] = [];
    for (let r = 0; r < runs; r++) firstAudio.push((await hear(500 + r, settings.workers, 'deadline', [longFirst.text], firstChunkChars))[0]!.firstAudioSec);
    const chars = [...(prepareText(longFirst.text, { firstChars: firstChunkChars }).chunks[0]?.text ?? '')].length;
    progress(`playback: first sentence of ${longFirst.firstSentenceChars} characters, ${label} (first chunk ${chars}): first audio ${firstAudio.map((s) => s.toFixed(2)).join(', ')} s`);
    return { firstChunkChars: chars, firstAudioSec: spread(firstAudio) };
  };
  const before = await opening(0, 'without the short opening');
  const after = await opening(undefined, 'with the short opening');

  if (voice.misses > 0) throw new Error(`bench: the emulator had to synthesize ${voice.misses} clips while measuring: ${voice.missed.map((t) => JSON.stringify(t.slice(0, 60))).join(', ')}`);
  return {
    runs,
    storyChunks: prepareText(VIETNAMESE_STORY).chunks.length,
    stallsByWorkers,
    policyWorkers,
    policies,
    longFirst: { firstSentenceChars: longFirst.firstSentenceChars, before, after },
  };
}
