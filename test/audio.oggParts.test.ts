/**
 * splitOggOpus: an Ogg Opus recording too large for the upload limit becomes parts that each fit, each a valid file
 * a real decoder plays on its own, and together — played one after the other — the same audio as the whole file,
 * to the sample in length, with no audible seam (the pre-roll page warms the decoder up at each cut).
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { encodeOggOpus } from '../src/services/audio/oggOpus.js';
import { splitOggOpus } from '../src/services/audio/oggParts.js';
import { isNarratorError } from '../src/services/errors.js';
import { decodeOggOpusFile } from './support/oggOpusFile.js';

/** Tones that change pitch every 0.3 s, with a gentle envelope: every cut lands in the middle of something. */
function melody(rate: number, seconds: number): Float32Array {
  const out = new Float32Array(Math.round(rate * seconds));
  let phase = 0;
  for (let i = 0; i < out.length; i++) {
    const note = Math.floor(i / (rate * 0.3));
    const hz = 180 + ((note * 73) % 400);
    phase += (2 * Math.PI * hz) / rate;
    out[i] = 0.4 * Math.sin(phase) * (0.6 + 0.4 * Math.sin((2 * Math.PI * i) / (rate * 1.7)));
  }
  return out;
}

function rmsOf(a: Float32Array): number {
  let s = 0;
  for (const v of a) s += v * v;
  return Math.sqrt(s / Math.max(1, a.length));
}

describe('splitOggOpus', () => {
  test('parts each fit the limit, each decode on their own, and together are the whole audio', async () => {
    const ogg = await encodeOggOpus({ sampleRate: 24_000, samples: melody(24_000, 30) }, { serial: 77 });
    const whole = decodeOggOpusFile(ogg).audio.samples;
    // Each later part repeats one ~1 s page as pre-roll (~4 kB here): room for it.
    const limit = Math.ceil(ogg.length / 3) + 12_000;
    const parts = splitOggOpus(ogg, limit);
    assert.ok(parts, 'the recording can be split');
    assert.equal(parts.length, 3, `${ogg.length} bytes in parts of at most ${limit}`);
    const decoded = parts.map((p, i) => {
      assert.ok(p.data.length <= limit, `part ${i + 1}: ${p.data.length} bytes ≤ ${limit}`);
      const d = decodeOggOpusFile(p.data);
      assert.ok(Math.abs(d.audio.samples.length / 48_000 - p.durationSec) < 1e-9, 'durationSec is the part\'s own length');
      return d.audio.samples;
    });
    assert.equal(decoded.reduce((n, d) => n + d.length, 0), whole.length, 'the parts add up to the whole, to the sample');
    // Played one after the other, they sound like the whole file, also right after each cut.
    let at = 0;
    for (const [i, part] of decoded.entries()) {
      const diff = new Float32Array(part.length);
      for (let k = 0; k < part.length; k++) diff[k] = part[k]! - whole[at + k]!;
      const seam = diff.subarray(0, 4_800); // the first 100 ms after the cut
      assert.ok(rmsOf(diff) < 0.02 * rmsOf(whole), `part ${i + 1} matches the whole (error rms ${rmsOf(diff).toFixed(4)})`);
      assert.ok(rmsOf(seam) < 0.05 * rmsOf(whole), `no seam at the start of part ${i + 1} (error rms ${rmsOf(seam).toFixed(4)})`);
      at += part.length;
    }
  });

  test('a file that already fits comes back as one part; a limit below one page beside the headers gives none', async () => {
    const ogg = await encodeOggOpus({ sampleRate: 24_000, samples: melody(24_000, 3) });
    const one = splitOggOpus(ogg, ogg.length);
    assert.equal(one?.length, 1);
    assert.equal(decodeOggOpusFile(one[0]!.data).audio.samples.length, decodeOggOpusFile(ogg).audio.samples.length);
    assert.equal(splitOggOpus(ogg, 200), undefined);
  });

  test('anything but an Ogg Opus file is refused as bad audio', () => {
    assert.throws(() => splitOggOpus(Buffer.from('RIFF....WAVEfmt '), 1_000), (err: unknown) => isNarratorError(err) && err.code === 'bad_audio');
  });
});
