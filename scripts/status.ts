/**
 * Operators' status check, the backend half of `/status` without Discord:
 *
 *   npm run status [-- --json]
 *
 * Reads the configuration like the bot (environment and `.env`), asks the configured backend how it is — RunPod
 * `/health` (workers idle/running/initializing/throttled, jobs in queue/in progress), Flask `/voices`
 * reachability, or the local offline voice — and reports the audio cache on disk (size, entries; the hit rate
 * is the bot's own, shown by `/status`). Nothing is submitted, so it costs no GPU time.
 * Exit codes: 0 the backend answered, 1 it did not, 2 bad configuration.
 */
import { loadConfigOrExit } from '../src/services/config.js';
import { isNarratorError } from '../src/services/errors.js';
import { registerSecret } from '../src/services/log.js';
import { backendStatus, renderStatusReport, scanCacheDir } from '../src/services/status.js';
import { createBackend } from '../src/services/tts/index.js';

async function main(): Promise<void> {
  const config = await loadConfigOrExit('See .env.example for every setting.\n');
  registerSecret(config.runpod.apiKey);
  let backend;
  try {
    backend = createBackend(config);
  } catch (err) {
    if (isNarratorError(err, 'config')) {
      process.stderr.write(`${err.message}\n`);
      process.exit(2);
    }
    throw err;
  }
  try {
    const [status, cache] = await Promise.all([backendStatus(backend), scanCacheDir(config.cacheDir)]);
    const report = { backend: status, cache };
    if (process.argv.includes('--json')) process.stdout.write(`${JSON.stringify(report)}\n`);
    else process.stdout.write(`${renderStatusReport('en', report).replace(/\*\*/g, '')}\n`);
    const down = (status.kind === 'runpod' && !status.health) || (status.kind === 'flask' && !status.ok);
    process.exitCode = down ? 1 : 0;
  } finally {
    await backend.close?.();
  }
}

main().catch((err: unknown) => {
  process.stderr.write(`Fatal: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(1);
});
