/**
 * The `waveform` of a Discord voice message: at most 256 amplitude bytes (0–255), base64-encoded in the
 * attachment's metadata, which the client draws as the bars of the player. Computed from the audio itself (the RMS
 * of equal slices, scaled so the loudest slice is 255) so the bars follow the speech; pure and synchronous, but a
 * single pass over the samples with no allocation per sample, so even a long narration costs a few milliseconds.
 */

/** Discord draws at most this many bars; more bytes are refused. */
export const MAX_WAVEFORM_BYTES = 256;

/** One byte per slice of `samples` (float, -1…1), `bars` slices (≤ 256, fewer for very short audio). */
export function waveformBytes(samples: Float32Array, bars: number = MAX_WAVEFORM_BYTES): Uint8Array {
  const count = Math.max(1, Math.min(MAX_WAVEFORM_BYTES, Math.floor(bars), samples.length));
  const levels = new Float64Array(count);
  for (let b = 0; b < count; b++) {
    const start = Math.floor((b * samples.length) / count);
    const end = Math.floor(((b + 1) * samples.length) / count);
    let sum = 0;
    for (let i = start; i < end; i++) sum += samples[i]! * samples[i]!;
    levels[b] = end > start ? Math.sqrt(sum / (end - start)) : 0;
  }
  let peak = 0;
  for (const level of levels) peak = Math.max(peak, level);
  const out = new Uint8Array(count);
  if (peak === 0 || !Number.isFinite(peak)) return out;
  for (let b = 0; b < count; b++) out[b] = Math.min(255, Math.round((levels[b]! / peak) * 255));
  return out;
}

/** The attachment's `waveform` field: base64 of `waveformBytes`. */
export function voiceMessageWaveform(samples: Float32Array): string {
  return Buffer.from(waveformBytes(samples)).toString('base64');
}
