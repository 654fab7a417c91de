/**
 * Runs the bot's entry (src/index.ts) as a child process in an empty directory — so no developer `.env` is read —
 * with exactly the given environment, and collects what it printed and its exit code. For start-up tests: the bot
 * is expected to exit by itself (a configuration problem). The bound is a hang guard, not a speed check: tsx's
 * start-up alone took 22 s (2.5 s of CPU) on a loaded 2-core machine.
 */
import { spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const ENTRY = fileURLToPath(new URL('../../src/index.ts', import.meta.url));
const TSX = import.meta.resolve('tsx');

export interface BotRun {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

export async function runBot(env: Record<string, string>, timeoutMs = 60_000): Promise<BotRun> {
  const cwd = await mkdtemp(join(tmpdir(), 'narrator-start-'));
  try {
    return await new Promise<BotRun>((resolve, reject) => {
      const child = spawn(process.execPath, ['--import', TSX, ENTRY], {
        cwd,
        env: { PATH: process.env.PATH ?? '', CACHE_MAX_MB: '0', LOG_LEVEL: 'warn', ...env },
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      let stdout = '';
      let stderr = '';
      child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
      child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
      const timer = setTimeout(() => {
        child.kill('SIGKILL');
        reject(new Error(`bot did not exit within ${timeoutMs} ms; stderr: ${stderr}`));
      }, timeoutMs);
      child.on('exit', (code) => {
        clearTimeout(timer);
        resolve({ code, stdout, stderr });
      });
    });
  } finally {
    await rm(cwd, { recursive: true, force: true });
  }
}
