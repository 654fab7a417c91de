/**
 * A long narration keeps memory flat: audio already yielded to the consumer is not held by the engine until the
 * narration ends (a 49-minute chapter would otherwise keep ~280 MB of decoded audio). Measured as the process's
 * array-buffer memory after full garbage collections, while a 100-chunk narration (≈ 8 minutes of audio, ≈ 46 MB
 * decoded) is consumed: it must not grow with the audio consumed.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { Orchestrator } from '../src/services/orchestrator.js';
import { FairScheduler } from '../src/services/scheduler.js';
import type { SynthesisRequest, SynthesisResult, TtsBackend } from '../src/services/tts/backend.js';
import { encodeTestWav } from './support/fakeVoice.js';

setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;

const RATE = 24_000;
const CHUNK_SEC = 5;

/** Five seconds of tone per chunk, at once — except the last chunk, which waits for `release()`. */
class ToneBackend implements TtsBackend {
  readonly kind = 'local';
  readonly identity = 'test:tone5';
  release!: () => void;
  readonly #last = new Promise<void>((resolve) => (this.release = resolve));
  async synthesize(request: SynthesisRequest): Promise<SynthesisResult> {
    // The narration is still going while the test measures: nothing may be waiting for its end to let audio go.
    if (request.text.startsWith('Câu số 100 ')) await this.#last;
    const samples = new Float32Array(RATE * CHUNK_SEC);
    for (let i = 0; i < samples.length; i++) samples[i] = 0.3 * Math.sin((2 * Math.PI * 220 * i) / RATE);
    return { wav: encodeTestWav(samples, RATE, 'pcm16'), retries: 0 };
  }
}

function arrayBuffersMiB(): number {
  gc();
  gc();
  return process.memoryUsage().arrayBuffers / (1024 * 1024);
}

test('audio yielded to the consumer is let go: memory does not grow with the length of the narration', async (t) => {
  const text = Array.from({ length: 100 }, (_, i) => `Câu số ${i + 1} của một chương rất dài, đọc chậm rãi và rõ ràng.`).join('\n\n');
  const backend = new ToneBackend();
  const orchestrator = new Orchestrator({
    backend,
    scheduler: new FairScheduler(1),
    voices: ['narrator'],
    defaultVoice: 'narrator',
    defaultSpeed: 1,
    narrationTimeoutMs: 60_000,
  });
  const narration = orchestrator.narrate({ text });
  assert.equal(narration.plan.chunks.length, 100);
  let n = 0;
  let early = 0;
  let late = 0;
  for await (const segment of narration.segments()) {
    assert.ok(segment.audio.samples.length > RATE * (CHUNK_SEC - 1));
    n++;
    if (n === 10) early = arrayBuffersMiB();
    if (n === 90) {
      late = arrayBuffersMiB();
      backend.release();
    }
  }
  t.diagnostic(`array buffers after 10 chunks: ${early.toFixed(1)} MiB, after 90: ${late.toFixed(1)} MiB (80 chunks = ${((80 * CHUNK_SEC * RATE * 4) / 2 ** 20).toFixed(0)} MiB of decoded audio)`);
  assert.equal(n, 100);
  assert.ok(late - early < 8, `memory grew by ${(late - early).toFixed(1)} MiB over 80 chunks consumed`);
});
