/** Mono floating-point audio: the one format the engine works in between the worker's WAV and the outputs. */
export interface MonoAudio {
  readonly sampleRate: number;
  /** Samples in [-1, 1]. */
  readonly samples: Float32Array;
}

/**
 * Where a chunk sits relative to the previous one: decides the length of the pause before it. `speaker`: another
 * voice takes over (a multi-voice script), a little longer than between two sentences of one speaker.
 */
export type BreakBefore = 'none' | 'sentence' | 'speaker' | 'paragraph';
