/**
 * Runs one of the project's TypeScript entry points (a CLI in scripts/, a test's worker script) as a child process
 * through tsx, with exactly the environment given, and collects stdout, stderr and the exit code. `cliEnv` is the
 * clean environment the CLIs get in tests — PATH, HOME and CACHE_DIR inside the test's folder, warnings only — so
 * nothing from a developer's shell or `.env` decides the backend. `onSpawn` gets a way to signal the child.
 */
import { spawn } from 'node:child_process';
import path from 'node:path';

const NARRATE = path.resolve(import.meta.dirname, '../../scripts/narrate.ts');

export interface ScriptRun {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

export interface ScriptOptions {
  readonly cwd?: string;
  readonly env: NodeJS.ProcessEnv;
  readonly onSpawn?: (kill: (signal: NodeJS.Signals) => void) => void;
}

export function runScript(script: string, args: readonly string[], opts: ScriptOptions): Promise<ScriptRun> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', import.meta.resolve('tsx'), script, ...args], {
      ...(opts.cwd !== undefined ? { cwd: opts.cwd } : {}),
      env: opts.env,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
    opts.onSpawn?.((signal) => child.kill(signal));
  });
}

/** A CLI's environment in tests: nothing inherited but PATH; HOME and the cache inside `dir`; then `extra`. */
export function cliEnv(dir: string, extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  return { PATH: process.env.PATH ?? '', HOME: dir, CACHE_DIR: path.join(dir, 'cache'), LOG_LEVEL: 'warn', ...extra };
}

/** This process's environment without the variables named (a plain script must not think it is a test-runner child). */
export function inheritedEnvWithout(...names: string[]): NodeJS.ProcessEnv {
  return Object.fromEntries(Object.entries(process.env).filter(([name]) => !names.includes(name)));
}

/** The narrate CLI (scripts/narrate.ts) run in `dir` with `cliEnv(dir, env)`. */
export function runNarrateCli(
  dir: string,
  args: readonly string[],
  env: Record<string, string> = {},
  onSpawn?: (kill: (signal: NodeJS.Signals) => void) => void,
): Promise<ScriptRun> {
  return runScript(NARRATE, args, { cwd: dir, env: cliEnv(dir, env), ...(onSpawn ? { onSpawn } : {}) });
}
