/**
 * The `waveform` of a Discord voice message: at most 256 amplitude bytes (0–255), base64-encoded in the
 * attachment's metadata, which the client draws as the bars of the player. Computed from the audio itself (the RMS
 * of equal slices, scaled so the loudest slice is 255) so the bars follow the speech; one pass over the samples with
 * no allocation per sample, fed whole or a slice at a time (WaveformBuilder) as a long narration is encoded.
 */

/** Discord draws at most this many bars; more bytes are refused. */
export const MAX_WAVEFORM_BYTES = 256;

/**
 * The bars of audio whose length is known in advance, fed a piece at a time in order (a long narration's voice
 * message is read in slices, never whole). Bar b covers samples [⌊b·n/bars⌋, ⌊(b+1)·n/bars⌋).
 */
export class WaveformBuilder {
  readonly #total: number;
  readonly #count: number;
  readonly #sums: Float64Array;
  #seen = 0;
  #bar = 0;
  #barEnd: number;

  constructor(totalSamples: number, bars: number = MAX_WAVEFORM_BYTES) {
    this.#total = Math.max(0, Math.floor(totalSamples));
    this.#count = Math.max(1, Math.min(MAX_WAVEFORM_BYTES, Math.floor(bars), this.#total));
    this.#sums = new Float64Array(this.#count);
    this.#barEnd = this.#edge(1);
  }

  #edge(b: number): number {
    return Math.floor((b * this.#total) / this.#count);
  }

  /** The next samples (float, -1…1); samples past the announced total are ignored. */
  add(samples: Float32Array): void {
    const sums = this.#sums;
    for (let i = 0; i < samples.length && this.#seen < this.#total; i++, this.#seen++) {
      while (this.#seen >= this.#barEnd && this.#bar < this.#count - 1) this.#barEnd = this.#edge(++this.#bar + 1);
      sums[this.#bar] = sums[this.#bar]! + samples[i]! * samples[i]!;
    }
  }

  /** One byte per bar, the loudest bar 255 (all 0 for silence). */
  bytes(): Uint8Array {
    const levels = new Float64Array(this.#count);
    let peak = 0;
    for (let b = 0; b < this.#count; b++) {
      const width = this.#edge(b + 1) - this.#edge(b);
      levels[b] = width > 0 ? Math.sqrt(this.#sums[b]! / width) : 0;
      peak = Math.max(peak, levels[b]!);
    }
    const out = new Uint8Array(this.#count);
    if (peak === 0 || !Number.isFinite(peak)) return out;
    for (let b = 0; b < this.#count; b++) out[b] = Math.min(255, Math.round((levels[b]! / peak) * 255));
    return out;
  }
}

/** One byte per slice of `samples` (float, -1…1), `bars` slices (≤ 256, fewer for very short audio). */
export function waveformBytes(samples: Float32Array, bars: number = MAX_WAVEFORM_BYTES): Uint8Array {
  const builder = new WaveformBuilder(samples.length, bars);
  builder.add(samples);
  return builder.bytes();
}

/** The attachment's `waveform` field: base64 of the bars. */
export function waveformBase64(bars: Uint8Array): string {
  return Buffer.from(bars).toString('base64');
}
