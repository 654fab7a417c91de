/**
 * Runs one bench job in a fresh Node process (child.ts) and returns its validated result.
 *
 * The child is the same Node binary as this process (Node 22 from the project's devDependency), with tsx as its
 * loader and `--expose-gc` so the memory samples can be taken after a full collection. The job goes as the first
 * line on the child's stdin; `startChild` keeps stdin open for control lines (see childProtocol.ts).
 */
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import type { z } from 'zod';
import { RESULT_MARKER, type ChildJob } from './childProtocol.js';

const CHILD = fileURLToPath(new URL('./child.ts', import.meta.url));
/** The repository root, so `--import tsx` resolves from the project's node_modules. */
const ROOT = fileURLToPath(new URL('../../', import.meta.url));

export interface ChildOptions {
  /** Sees every line the child prints on stdout other than its result (progress markers). */
  readonly onLine?: (line: string) => void;
  readonly timeoutMs?: number;
}

export interface RunningChild<T> {
  /** Sends one control line to the child. */
  send(line: string): void;
  /** The child's validated result, once it has exited. */
  readonly result: Promise<T>;
}

export function startChild<T>(job: ChildJob, schema: z.ZodType<T>, options: ChildOptions = {}): RunningChild<T> {
  const child = spawn(process.execPath, ['--expose-gc', '--import', 'tsx', CHILD], {
    cwd: ROOT,
    stdio: ['pipe', 'pipe', 'pipe'],
    env: { ...process.env, NODE_OPTIONS: '' },
  });
  let resultLine: string | undefined;
  let stderr = '';
  let pending = '';
  child.stdout.setEncoding('utf8').on('data', (s: string) => {
    pending += s;
    const lines = pending.split('\n');
    pending = lines.pop() ?? '';
    for (const line of lines) {
      if (line.startsWith(RESULT_MARKER)) resultLine = line.slice(RESULT_MARKER.length);
      else options.onLine?.(line);
    }
  });
  child.stderr.setEncoding('utf8').on('data', (s: string) => (stderr += s));
  // A child that exits early closes its stdin; a late control line must not crash this process.
  child.stdin.on('error', () => undefined);
  child.stdin.write(`${JSON.stringify(job)}\n`);
  const timer = setTimeout(() => child.kill('SIGKILL'), options.timeoutMs ?? 600_000);
  const result = new Promise<number | null>((resolve, reject) => {
    child.once('error', reject);
    child.once('close', resolve);
  })
    .finally(() => clearTimeout(timer))
    .then((code) => {
      if (code !== 0 || resultLine === undefined) {
        throw new Error(`bench child (${job.mode}) exited with ${code ?? 'a signal'}: ${stderr.trim().slice(-2000) || '(no output)'}`);
      }
      const parsed = schema.safeParse(JSON.parse(resultLine));
      if (!parsed.success) throw new Error(`bench child (${job.mode}) sent an unexpected result: ${parsed.error.message}`);
      return parsed.data;
    });
  return { send: (line) => void child.stdin.write(`${line}\n`), result };
}

/** Runs a job that needs no control lines. */
export function runChild<T>(job: ChildJob, schema: z.ZodType<T>, options: ChildOptions = {}): Promise<T> {
  return startChild(job, schema, options).result;
}
