/**
 * Classifies what the F5-TTS worker reports when a job fails, in both of its vocabularies (the seed's codes
 * `Server busy`/`tts_failed`/… and the deployed handler's sentences `Flask API is processing another job`/…),
 * plus handler crashes (RunPod's JSON-string `error`). Each becomes a NarratorError with:
 * - a kind: transient (resubmit with a fresh job id) or permanent/user (stop at once, tell the user);
 * - a retry budget: busy workers are worth several tries, a failed inference one more, a bad request none;
 * - a short message safe to show, the worker's own words kept in `detail` for the logs.
 */
import { NarratorError } from '../errors.js';

/** How many re-submissions a failure of this code deserves (on top of the first try). */
export const RETRY_BUDGET: Readonly<Record<string, number>> = {
  worker_busy: 6,
  rate_limited: 8,
  network: 5,
  server_error: 5,
  duplicate_job: 2,
  tts_failed: 1,
  inference_failed: 1,
  handler_crashed: 1,
  no_output: 1,
  job_timed_out: 1,
};

export function retryBudget(err: NarratorError): number {
  return err.kind === 'transient' ? (RETRY_BUDGET[err.code] ?? 1) : 0;
}

const busy = (detail: string) => new NarratorError('transient', 'worker_busy', 'The TTS worker is busy with another job.', detail);

/** Interprets a worker error (the job's top-level `error`, plus what remains of `output`) as a NarratorError. */
export function classifyWorkerError(error: unknown, output?: unknown, voice?: string): NarratorError {
  if (typeof error !== 'string') {
    return new NarratorError('transient', 'handler_crashed', 'The TTS worker failed unexpectedly.', safeJson(error));
  }
  const raised = parseRaised(error);
  if (raised) {
    return new NarratorError('transient', 'handler_crashed', 'The TTS worker crashed while synthesizing.', `${raised.type}: ${raised.message}`);
  }
  const detail = output === undefined ? error : `${error} ${safeJson(output)}`;
  const text = error.trim();
  const lower = text.toLowerCase();
  const outputStatus = isRecord(output) && typeof output.status === 'string' ? output.status : undefined;
  const outputMessage = isRecord(output) && typeof output.message === 'string' ? output.message : '';

  if (outputStatus === 'duplicate' || lower.startsWith('job already processed')) {
    return new NarratorError('transient', 'duplicate_job', 'The worker had already seen this job id.', detail);
  }
  if (lower.startsWith("missing 'text'")) {
    return new NarratorError('permanent', 'bad_request', 'The worker rejected the request (no text).', detail);
  }
  if (lower === 'server busy' || lower.startsWith('flask api is processing another job')) {
    return busy(detail);
  }
  if (lower.startsWith('flask api error') || lower === 'flask_api_error') {
    const body = `${text} ${outputMessage}`.toLowerCase();
    if (body.includes('ref_not_found')) return voiceNotInstalled(voice, detail);
    if (body.includes('invalid_speed')) {
      return new NarratorError('user', 'speed_invalid', 'The worker rejected the speed.', detail);
    }
    if (body.includes('busy')) return busy(detail);
    if (body.includes('inference_failed')) {
      return new NarratorError('transient', 'inference_failed', 'The TTS model failed on this sentence.', detail);
    }
    return new NarratorError('permanent', 'worker_error', 'The TTS worker reported an error.', detail);
  }
  if (lower.startsWith('tts processing failed') || lower === 'tts_failed') {
    return new NarratorError('transient', 'tts_failed', 'The TTS model failed on this sentence.', detail);
  }
  if (lower.startsWith('processing timeout') || lower === 'timeout') {
    return new NarratorError('permanent', 'worker_timeout', 'The TTS worker gave up: synthesis took too long.', detail);
  }
  if (lower === 'handler_exception') {
    return new NarratorError('transient', 'handler_crashed', 'The TTS worker crashed while synthesizing.', detail);
  }
  return new NarratorError('permanent', 'worker_error', 'The TTS worker reported an error.', detail);
}

/**
 * `ref_not_found`: the worker found no reference WAV at the path it built from our `ref_name`. When the voice is
 * really installed the usual cause is REF_NAME_TEMPLATE not matching the worker build (the seed's image wants
 * `sample/{voice}.wav`, later ones join the name under their sample folder and want `{voice}`, so the template
 * `sample/{voice}.wav` makes them look for `sample/sample/x.wav`). So the message names the path the worker
 * checked (from its `details`, when the answer has them) and the setting to look at.
 */
export function voiceNotInstalled(voice: string | undefined, detail: string): NarratorError {
  const checked = /"full_path_checked"\s*:\s*"([^"\\]{1,300})"/.exec(detail)?.[1] ?? /"cleaned_ref_name"\s*:\s*"([^"\\]{1,300})"/.exec(detail)?.[1];
  // Relative to the worker's folder (its sample dir is ./sample): `/app/sample/sample/x.wav` → `sample/sample/x.wav`.
  const path = checked
    ?.replace(/^.*?\/(?=sample\/)/, '')
    .replace(/[^\p{L}\p{N} ._/:-]/gu, '')
    .slice(-60);
  const which = voice ? `The voice "${voice}"` : 'The voice';
  return new NarratorError(
    'user',
    'voice_not_installed',
    `${which} is not installed on the worker${path ? ` (looked for ${path})` : ''}; check REF_NAME_TEMPLATE.`,
    detail,
  );
}

/** RunPod turns a raised exception into a JSON string `{"error_type","error_message",…}`. */
function parseRaised(error: string): { type: string; message: string } | undefined {
  if (!error.startsWith('{')) return undefined;
  try {
    const parsed: unknown = JSON.parse(error);
    if (isRecord(parsed) && ('error_type' in parsed || 'error_message' in parsed)) {
      return { type: String(parsed.error_type ?? 'Exception'), message: String(parsed.error_message ?? '') };
    }
  } catch {
    // Not JSON after all: a plain error sentence that happens to start with a brace.
  }
  return undefined;
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function safeJson(v: unknown): string {
  try {
    return JSON.stringify(v)?.slice(0, 1000) ?? String(v);
  } catch {
    return String(v);
  }
}
