/**
 * Small measurements tests make on the audio the bot played: downmix to mono, loudness (RMS), and the dominant
 * frequency (Hann-windowed FFT with parabolic peak interpolation — accurate to a fraction of a hertz on a second
 * of audio). Hand-written because it is ~60 lines and a DSP dependency would be far larger than the need.
 */

/** Interleaved s16 → mono float in [-1, 1]. */
export function toMono(pcm: Int16Array, channels = 2): Float32Array {
  const frames = Math.floor(pcm.length / channels);
  const out = new Float32Array(frames);
  for (let i = 0; i < frames; i++) {
    let sum = 0;
    for (let c = 0; c < channels; c++) sum += pcm[i * channels + c] ?? 0;
    out[i] = sum / channels / 32768;
  }
  return out;
}

export function rms(samples: Float32Array): number {
  if (samples.length === 0) return 0;
  let sum = 0;
  for (const s of samples) sum += s * s;
  return Math.sqrt(sum / samples.length);
}

/** In-place iterative radix-2 FFT; `re.length` must be a power of two. */
function fft(re: Float64Array, im: Float64Array): void {
  const n = re.length;
  for (let i = 1, j = 0; i < n; i++) {
    let bit = n >> 1;
    for (; j & bit; bit >>= 1) j ^= bit;
    j ^= bit;
    if (i < j) {
      [re[i], re[j]] = [re[j] ?? 0, re[i] ?? 0];
      [im[i], im[j]] = [im[j] ?? 0, im[i] ?? 0];
    }
  }
  for (let len = 2; len <= n; len <<= 1) {
    const angle = (-2 * Math.PI) / len;
    const wRe = Math.cos(angle);
    const wIm = Math.sin(angle);
    for (let start = 0; start < n; start += len) {
      let uRe = 1;
      let uIm = 0;
      for (let k = 0; k < len / 2; k++) {
        const a = start + k;
        const b = a + len / 2;
        const tRe = (re[b] ?? 0) * uRe - (im[b] ?? 0) * uIm;
        const tIm = (re[b] ?? 0) * uIm + (im[b] ?? 0) * uRe;
        re[b] = (re[a] ?? 0) - tRe;
        im[b] = (im[a] ?? 0) - tIm;
        re[a] = (re[a] ?? 0) + tRe;
        im[a] = (im[a] ?? 0) + tIm;
        const next = uRe * wRe - uIm * wIm;
        uIm = uRe * wIm + uIm * wRe;
        uRe = next;
      }
    }
  }
}

/** The strongest frequency in `samples` (Hz), from the middle 2^k samples (at most 65536). */
export function dominantFrequency(samples: Float32Array, sampleRate: number): number {
  let n = 1;
  while (n * 2 <= Math.min(samples.length, 65_536)) n *= 2;
  if (n < 64) return 0;
  const offset = Math.floor((samples.length - n) / 2);
  const re = new Float64Array(n);
  const im = new Float64Array(n);
  for (let i = 0; i < n; i++) re[i] = (samples[offset + i] ?? 0) * (0.5 - 0.5 * Math.cos((2 * Math.PI * i) / (n - 1)));
  fft(re, im);
  const mag = (k: number): number => Math.hypot(re[k] ?? 0, im[k] ?? 0);
  let peak = 1;
  for (let k = 2; k < n / 2; k++) if (mag(k) > mag(peak)) peak = k;
  // Parabolic interpolation on log magnitudes around the peak bin.
  const a = Math.log(mag(peak - 1) + 1e-12);
  const b = Math.log(mag(peak) + 1e-12);
  const c = Math.log(mag(peak + 1) + 1e-12);
  const shift = (0.5 * (a - c)) / (a - 2 * b + c);
  return ((peak + (Number.isFinite(shift) ? shift : 0)) * sampleRate) / n;
}
