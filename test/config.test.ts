import { test } from 'node:test';
import assert from 'node:assert/strict';
import { loadConfig } from '../src/services/config.js';
import { NarratorError } from '../src/services/errors.js';

const KEY = 'rpa_SUPERSECRETKEY123456';

function configError(env: NodeJS.ProcessEnv): NarratorError {
  try {
    loadConfig(env);
  } catch (err) {
    assert.ok(err instanceof NarratorError);
    assert.equal(err.kind, 'config');
    return err;
  }
  assert.fail('expected a configuration error');
}

test('defaults: no variables at all gives the offline backend with documented defaults', () => {
  const c = loadConfig({});
  assert.equal(c.backend, 'local');
  assert.equal(c.maxConcurrentJobs, 6);
  assert.equal(c.defaultSpeed, 0.9);
  assert.equal(c.refNameTemplate, 'sample/{voice}.wav');
  assert.equal(c.runpod.baseUrl, 'https://api.runpod.ai/v2');
  assert.deepEqual(c.voices, ['narrator']);
  assert.equal(c.defaultVoice, 'narrator');
  assert.ok(Object.isFrozen(c) && Object.isFrozen(c.runpod) && Object.isFrozen(c.voices));
});

test('backend choice: runpod when key and endpoint are set, else flask when its URL is set', () => {
  assert.equal(loadConfig({ RUNPOD_API_KEY: KEY, RUNPOD_ENDPOINT_ID: 'abc123' }).backend, 'runpod');
  assert.equal(loadConfig({ F5_TTS_API_URL: 'http://localhost:7860/' }).backend, 'flask');
  assert.equal(loadConfig({ F5_TTS_API_URL: 'http://localhost:7860/' }).flaskUrl, 'http://localhost:7860');
  assert.equal(loadConfig({ RUNPOD_API_KEY: KEY }).backend, 'local');
  assert.equal(loadConfig({ TTS_BACKEND: 'local', RUNPOD_API_KEY: KEY, RUNPOD_ENDPOINT_ID: 'x' }).backend, 'local');
});

test('every bad variable is named with its reason, in one error', () => {
  const err = configError({ MAX_CONCURRENT_JOBS: 'lots', DEFAULT_SPEED: '5', TTS_BACKEND: 'gpu', RUNPOD_BASE_URL: 'ftp://x', TTS_VOICES: 'a,../etc' });
  for (const name of ['MAX_CONCURRENT_JOBS', 'DEFAULT_SPEED', 'TTS_BACKEND', 'RUNPOD_BASE_URL', 'TTS_VOICES']) {
    assert.match(err.message, new RegExp(`^  ${name} `, 'm'), `${name} should be named`);
  }
});

test('runpod backend requires its key and endpoint; DEFAULT_VOICE must be allow-listed', () => {
  const err = configError({ TTS_BACKEND: 'runpod' });
  assert.match(err.message, /RUNPOD_API_KEY is required/);
  assert.match(err.message, /RUNPOD_ENDPOINT_ID is required/);
  assert.match(configError({ TTS_VOICES: 'a,b', DEFAULT_VOICE: 'c' }).message, /DEFAULT_VOICE must be one of TTS_VOICES \(a, b\)/);
  assert.match(configError({ REF_NAME_TEMPLATE: 'sample/x.wav' }).message, /REF_NAME_TEMPLATE must contain \{voice\}/);
});

test('a secret never appears in a configuration error', () => {
  const err = configError({ RUNPOD_API_KEY: KEY, RUNPOD_ENDPOINT_ID: `bad id ${KEY}`, TTS_BACKEND: 'runpod', MAX_CONCURRENT_JOBS: KEY });
  assert.ok(!err.message.includes(KEY), err.message);
  assert.ok(!String(err.stack).includes(KEY));
});

test('a variable set to nothing means unset (docker-compose and .env leave them empty)', () => {
  const c = loadConfig({ MAX_CONCURRENT_JOBS: '', DEFAULT_SPEED: ' ', RUNPOD_BASE_URL: '', TTS_BACKEND: '', TTS_VOICES: '', DISCORD_API_BASE_URL: '' });
  assert.equal(c.maxConcurrentJobs, 6);
  assert.equal(c.defaultSpeed, 0.9);
  assert.equal(c.runpod.baseUrl, 'https://api.runpod.ai/v2');
  assert.equal(c.backend, 'local');
  assert.deepEqual(c.voices, ['narrator']);
  assert.equal(c.discord.apiBaseUrl, 'https://discord.com/api');
});
