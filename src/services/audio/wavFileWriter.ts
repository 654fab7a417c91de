/**
 * Writes a 16-bit PCM mono WAV file incrementally: segments are appended as they arrive and the RIFF sizes are
 * patched on close. A 30-minute narration never has to sit in memory as one buffer.
 */
import { open, type FileHandle } from 'node:fs/promises';
import { floatToInt16, wavHeader } from './wav.js';

const HEADER_BYTES = 44;

export class WavFileWriter {
  private dataBytes = 0;

  private constructor(
    private readonly file: FileHandle,
    readonly sampleRate: number,
  ) {}

  static async create(path: string, sampleRate: number): Promise<WavFileWriter> {
    const file = await open(path, 'w');
    await file.write(wavHeader(sampleRate, 0), 0, HEADER_BYTES, 0);
    return new WavFileWriter(file, sampleRate);
  }

  async append(samples: Float32Array): Promise<void> {
    const buf = Buffer.allocUnsafe(samples.length * 2);
    for (let i = 0; i < samples.length; i++) buf.writeInt16LE(floatToInt16(samples[i]!), i * 2);
    await this.file.write(buf, 0, buf.length, HEADER_BYTES + this.dataBytes);
    this.dataBytes += buf.length;
  }

  get durationSec(): number {
    return this.dataBytes / 2 / this.sampleRate;
  }

  /** Patches the sizes and closes; the file is a valid WAV only after this. */
  async close(): Promise<void> {
    await this.file.write(wavHeader(this.sampleRate, this.dataBytes), 0, HEADER_BYTES, 0);
    await this.file.close();
  }

  /** Closes without finishing (the caller deletes the file). */
  async abandon(): Promise<void> {
    await this.file.close();
  }
}
