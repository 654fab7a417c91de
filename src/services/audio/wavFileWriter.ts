/**
 * Writes a 16-bit PCM mono WAV file incrementally: segments are appended as they arrive and the RIFF sizes are
 * patched on close. A 30-minute narration never has to sit in memory as one buffer.
 */
import { open, type FileHandle } from 'node:fs/promises';
import { floatToInt16 } from './wav.js';

const HEADER_BYTES = 44;

export class WavFileWriter {
  private dataBytes = 0;

  private constructor(
    private readonly file: FileHandle,
    readonly sampleRate: number,
  ) {}

  static async create(path: string, sampleRate: number): Promise<WavFileWriter> {
    const file = await open(path, 'w');
    await file.write(header(sampleRate, 0), 0, HEADER_BYTES, 0);
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
    await this.file.write(header(this.sampleRate, this.dataBytes), 0, HEADER_BYTES, 0);
    await this.file.close();
  }

  /** Closes without finishing (the caller deletes the file). */
  async abandon(): Promise<void> {
    await this.file.close();
  }
}

function header(sampleRate: number, dataBytes: number): Buffer {
  const h = Buffer.alloc(HEADER_BYTES);
  h.write('RIFF', 0, 'latin1');
  h.writeUInt32LE(36 + dataBytes, 4);
  h.write('WAVE', 8, 'latin1');
  h.write('fmt ', 12, 'latin1');
  h.writeUInt32LE(16, 16);
  h.writeUInt16LE(1, 20); // PCM
  h.writeUInt16LE(1, 22); // mono
  h.writeUInt32LE(sampleRate, 24);
  h.writeUInt32LE(sampleRate * 2, 28);
  h.writeUInt16LE(2, 32);
  h.writeUInt16LE(16, 34);
  h.write('data', 36, 'latin1');
  h.writeUInt32LE(dataBytes, 40);
  return h;
}
