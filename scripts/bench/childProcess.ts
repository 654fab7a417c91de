/**
 * Runs one bench job in a fresh Node process (child.ts) and returns its validated result.
 *
 * The child is the same Node binary as this process (Node 22 from the project's devDependency), with tsx as its
 * loader and `--expose-gc` so the memory samples can be taken after a full collection.
 */
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import type { z } from 'zod';
import { RESULT_MARKER, type ChildJob } from './childProtocol.js';

const CHILD = fileURLToPath(new URL('./child.ts', import.meta.url));
/** The repository root, so `--import tsx` resolves from the project's node_modules. */
const ROOT = fileURLToPath(new URL('../../', import.meta.url));

export async function runChild<T>(job: ChildJob, schema: z.ZodType<T>, timeoutMs = 600_000): Promise<T> {
  const child = spawn(process.execPath, ['--expose-gc', '--import', 'tsx', CHILD], {
    cwd: ROOT,
    stdio: ['pipe', 'pipe', 'pipe'],
    env: { ...process.env, NODE_OPTIONS: '' },
  });
  let stdout = '';
  let stderr = '';
  child.stdout.setEncoding('utf8').on('data', (s: string) => (stdout += s));
  child.stderr.setEncoding('utf8').on('data', (s: string) => (stderr += s));
  child.stdin.end(JSON.stringify(job));
  const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
  const code = await new Promise<number | null>((resolve, reject) => {
    child.once('error', reject);
    child.once('close', resolve);
  }).finally(() => clearTimeout(timer));
  const line = stdout.split('\n').find((l) => l.startsWith(RESULT_MARKER));
  if (code !== 0 || line === undefined) {
    throw new Error(`bench child (${job.mode}) exited with ${code ?? 'a signal'}: ${stderr.trim().slice(-2000) || '(no output)'}`);
  }
  const parsed = schema.safeParse(JSON.parse(line.slice(RESULT_MARKER.length)));
  if (!parsed.success) throw new Error(`bench child (${job.mode}) sent an unexpected result: ${parsed.error.message}`);
  return parsed.data;
}
