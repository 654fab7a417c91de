/**
 * The strawman: the seed's way of narrating through RunPod, for the side-by-side comparison.
 *
 * The same chunks are submitted the same way (`POST /run`, at most MAX_CONCURRENT_JOBS at a time, in order), but
 * each job is waited on by sleeping a fixed interval and asking `GET /status/{id}`, so every job's end is noticed
 * up to one interval late and its slot stays taken meanwhile; and nothing is playable until every chunk is in, then
 * decoded and joined. Plain `fetch`, no retries, no cancellation: it is the baseline, not a client to copy.
 * Decoding and joining use the engine's own WAV decoder and stitcher so that only the waiting differs.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { z } from 'zod';
import { stitchAll } from '../../src/services/audio/stitch.js';
import type { MonoAudio } from '../../src/services/audio/types.js';
import { decodeWavMono } from '../../src/services/audio/wav.js';
import type { Chunk } from '../../src/services/text/index.js';
import type { EndpointTarget } from './rig.js';

export interface NaiveOptions {
  readonly target: EndpointTarget;
  readonly chunks: readonly Chunk[];
  /** Jobs in flight at once (the seed's MAX_CONCURRENT_JOBS). */
  readonly concurrency: number;
  /** Fixed wait before each `/status` request. */
  readonly pollMs: number;
  readonly refName?: string;
  readonly speed?: number;
}

export interface NaiveResult {
  readonly audio: MonoAudio;
  /** `/status` requests made. */
  readonly polls: number;
}

const runAnswer = z.object({ id: z.string().min(1) });
const statusAnswer = z.object({
  status: z.enum(['IN_QUEUE', 'IN_PROGRESS', 'COMPLETED', 'FAILED', 'CANCELLED', 'TIMED_OUT']),
  output: z.looseObject({ audio_base64: z.string().optional() }).optional(),
  error: z.unknown().optional(),
});

export async function naiveNarrate(o: NaiveOptions): Promise<NaiveResult> {
  const api = `${o.target.baseUrl}/${o.target.endpointId}`;
  const headers = { authorization: `Bearer ${o.target.apiKey}`, 'content-type': 'application/json' };
  const wavs: Uint8Array[] = new Array<Uint8Array>(o.chunks.length);
  let polls = 0;
  let next = 0;

  const getJson = async (res: Response, what: string): Promise<unknown> => {
    if (!res.ok) throw new Error(`naive client: ${what} answered HTTP ${res.status}`);
    return res.json();
  };

  const synthesize = async (chunk: Chunk): Promise<Uint8Array> => {
    const input = { text: chunk.text, ref_name: o.refName ?? 'sample/narrator.wav', speed: o.speed ?? 0.9, job_id: crypto.randomUUID() };
    const { id } = runAnswer.parse(await getJson(await fetch(`${api}/run`, { method: 'POST', headers, body: JSON.stringify({ input }) }), '/run'));
    for (;;) {
      await sleep(o.pollMs);
      polls++;
      const job = statusAnswer.parse(await getJson(await fetch(`${api}/status/${id}`, { headers }), '/status'));
      if (job.status === 'COMPLETED') {
        if (!job.output?.audio_base64) throw new Error('naive client: job completed without audio');
        return Buffer.from(job.output.audio_base64, 'base64');
      }
      if (job.status !== 'IN_QUEUE' && job.status !== 'IN_PROGRESS') throw new Error(`naive client: job ended ${job.status}`);
    }
  };

  const lane = async (): Promise<void> => {
    while (next < o.chunks.length) {
      const i = next++;
      wavs[i] = await synthesize(o.chunks[i]!);
    }
  };
  await Promise.all(Array.from({ length: Math.min(o.concurrency, o.chunks.length) }, lane));

  const clips = o.chunks.map((chunk, i) => ({ audio: decodeWavMono(wavs[i]!), breakBefore: chunk.breakBefore }));
  const audio = stitchAll(clips, { sampleRate: clips[0]?.audio.sampleRate ?? 24_000 });
  return { audio, polls };
}
