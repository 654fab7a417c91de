import { test } from 'node:test';
import assert from 'node:assert/strict';
import { classifyWorkerError, retryBudget } from '../src/services/tts/workerErrors.js';

const cases: Array<[unknown, unknown, string, string]> = [
  // [error, output, kind, code] — the deployed handler's sentences
  ["Missing 'text' in input", { status: 'failed' }, 'permanent', 'bad_request'],
  ['Flask API is processing another job', { status: 'failed' }, 'transient', 'worker_busy'],
  ['Flask API error: {"error":"ref_not_found"}', { status: 'failed', status_code: 404 }, 'user', 'voice_not_installed'],
  ['Flask API error: {"error":"invalid_speed"}', { status_code: 400 }, 'user', 'speed_invalid'],
  ['Flask API error: {"error":"busy"}', { status_code: 503 }, 'transient', 'worker_busy'],
  ['Flask API error: {"error":"inference_failed"}', { status_code: 500 }, 'transient', 'inference_failed'],
  ['TTS processing failed: CUDA error', undefined, 'transient', 'tts_failed'],
  ['Processing timeout after 600 seconds', undefined, 'permanent', 'worker_timeout'],
  ['Job already processed by this worker', { status: 'duplicate' }, 'transient', 'duplicate_job'],
  ['something nobody expected', undefined, 'permanent', 'worker_error'],
  // the seed's codes
  ['Server busy', { message: 'try later' }, 'transient', 'worker_busy'],
  ['flask_api_error', { message: 'ref_not_found: sample/x.wav' }, 'user', 'voice_not_installed'],
  ['flask_api_error', { message: 'weird' }, 'permanent', 'worker_error'],
  ['tts_failed', { message: 'x' }, 'transient', 'tts_failed'],
  ['timeout', { message: 'x' }, 'permanent', 'worker_timeout'],
  ['handler_exception', { message: 'x' }, 'transient', 'handler_crashed'],
  // a raised exception and a non-string error
  [JSON.stringify({ error_type: 'RuntimeError', error_message: 'boom', error_traceback: 'tb' }), undefined, 'transient', 'handler_crashed'],
  [{ nested: true }, undefined, 'transient', 'handler_crashed'],
];

for (const [error, output, kind, code] of cases) {
  test(`worker error ${JSON.stringify(error).slice(0, 60)} → ${kind}/${code}`, () => {
    const err = classifyWorkerError(error, output, 'narrator');
    assert.equal(err.kind, kind);
    assert.equal(err.code, code);
    assert.ok(err.message.length > 10 && err.message.length < 120, 'a short message fit for a user');
  });
}

test('retry budgets: busy workers get several tries, a failed inference one, permanent errors none', () => {
  assert.ok(retryBudget(classifyWorkerError('Server busy')) >= 3);
  assert.equal(retryBudget(classifyWorkerError('tts_failed')), 1);
  assert.equal(retryBudget(classifyWorkerError("Missing 'text' in input")), 0);
  assert.match(classifyWorkerError('flask_api_error', { message: 'ref_not_found' }, 'bob').message, /"bob"/);
});
