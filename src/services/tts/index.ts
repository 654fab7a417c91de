/** Picks and builds the configured backend; the only place that knows all three. */
import type { Logger } from 'pino';
import type { Config } from '../config.js';
import { NarratorError } from '../errors.js';
import type { TtsBackend } from './backend.js';
import { FlaskBackend } from './flask.js';
import { LocalBackend } from './local.js';
import { RunPodBackend } from './runpod.js';

export function createBackend(config: Config, logger?: Logger): TtsBackend {
  switch (config.backend) {
    case 'runpod': {
      const { apiKey, endpointId, baseUrl, backoffMs, workerDownloadHosts } = config.runpod;
      if (!apiKey || !endpointId) throw new NarratorError('config', 'bad_config', 'RUNPOD_API_KEY and RUNPOD_ENDPOINT_ID are required for the RunPod backend.');
      return new RunPodBackend({
        apiKey,
        endpointId,
        baseUrl,
        refNameTemplate: config.refNameTemplate,
        executionTimeoutMs: config.jobTimeoutMs,
        backoffBaseMs: backoffMs,
        workerHosts: workerDownloadHosts,
        maxAudioBytes: config.maxAudioBytes,
        logger,
      });
    }
    case 'flask': {
      if (!config.flaskUrl) throw new NarratorError('config', 'bad_config', 'F5_TTS_API_URL is required for the Flask backend.');
      return new FlaskBackend({ baseUrl: config.flaskUrl, refNameTemplate: config.refNameTemplate, jobTimeoutMs: config.jobTimeoutMs, logger });
    }
    case 'local':
      return new LocalBackend();
  }
}
