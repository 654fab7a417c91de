/**
 * The offline backend really speaks: espeak-ng (WASM) in a worker thread, Vietnamese voice, speed as rate.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { LocalBackend, espeakRate, espeakVoice } from '../src/services/tts/local.js';
import { decodeWavMono } from '../src/services/audio/wav.js';
import { NarratorError } from '../src/services/errors.js';

const rms = (s: Float32Array) => Math.sqrt(s.reduce((a, x) => a + x * x, 0) / s.length);

test('speaks Vietnamese: a real WAV of plausible length with audible energy; faster speed is shorter', async () => {
  const backend = new LocalBackend();
  try {
    const text = 'Xin chào, đây là một thử nghiệm.';
    const signal = new AbortController().signal;
    const [normal, fast] = await Promise.all([
      backend.synthesize({ text, voice: 'narrator', speed: 1 }, { signal }),
      backend.synthesize({ text, voice: 'narrator', speed: 2 }, { signal }),
    ]);
    const a = decodeWavMono(normal.wav);
    const b = decodeWavMono(fast.wav);
    const secs = a.samples.length / a.sampleRate;
    assert.ok(secs > 1 && secs < 5, `${secs} s for 8 words`);
    assert.ok(rms(a.samples) > 0.02, 'audible');
    assert.ok(b.samples.length / b.sampleRate < secs * 0.75, 'speed 2 is clearly faster');
    assert.equal(normal.gpuSeconds, 0, 'no GPU is billed for the offline synthesizer');
  } finally {
    await backend.close();
  }
});

test('voices map to distinct espeak variants; speed maps to a bounded rate', () => {
  assert.equal(espeakVoice('narrator'), 'vi');
  assert.notEqual(espeakVoice('female'), espeakVoice('male'));
  assert.match(espeakVoice('someone_else'), /^vi\+[fm]\d$/);
  assert.equal(espeakRate(1), 175);
  assert.equal(espeakRate(0.1), 80);
  assert.equal(espeakRate(5), 450);
});

test('an aborted request rejects at once with an abort error', async () => {
  const backend = new LocalBackend();
  try {
    const ac = new AbortController();
    const p = backend.synthesize({ text: 'Một câu khá dài để tổng hợp trong lúc bị huỷ.', voice: 'narrator', speed: 1 }, { signal: ac.signal });
    ac.abort();
    await assert.rejects(p, (err: unknown) => err instanceof NarratorError && err.kind === 'aborted');
  } finally {
    await backend.close();
  }
});

test('text that looks like an espeak option is spoken, never parsed as one', async () => {
  // Vietnamese dialogue starts lines with a dash; before the fix each of these failed the narration (or, for
  // `-v en`, could have switched the voice).
  const hostile = ['-Chào anh', '--help', '-v en', '-w /tmp/x', '-s 80 chậm quá', '--', '-'];
  const backend = new LocalBackend();
  try {
    const signal = new AbortController().signal;
    for (const text of hostile) {
      const { wav } = await backend.synthesize({ text, voice: 'narrator', speed: 1 }, { signal });
      const audio = decodeWavMono(wav);
      assert.ok(audio.samples.length > 0, `${JSON.stringify(text)} gave a WAV`);
      if (/\p{L}/u.test(text)) {
        const secs = audio.samples.length / audio.sampleRate;
        assert.ok(secs > 0.3 && secs < 5, `${JSON.stringify(text)}: ${secs} s`);
        assert.ok(rms(audio.samples) > 0.02, `${JSON.stringify(text)} is audible`);
      }
    }
    // The dash is not an option: "-Chào anh" sounds like "Chào anh" (same voice, about the same length).
    const plain = decodeWavMono((await backend.synthesize({ text: 'Chào anh', voice: 'narrator', speed: 1 }, { signal })).wav);
    const dashed = decodeWavMono((await backend.synthesize({ text: '-Chào anh', voice: 'narrator', speed: 1 }, { signal })).wav);
    assert.equal(dashed.sampleRate, plain.sampleRate);
    assert.ok(Math.abs(dashed.samples.length - plain.samples.length) < plain.samples.length * 0.5);
  } finally {
    await backend.close();
  }
});
