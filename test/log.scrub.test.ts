/**
 * The logger never prints credentials carried in URLs (issue 9.14): a config-like object and errors holding such
 * URLs go through the real logger into a buffer, and no secret substring may appear anywhere in the output, while
 * what an operator needs (host, path, harmless parameters) stays readable.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { createLogger, registerSecret, scrub } from '../src/services/log.js';

/** Distinct, greppable secret values. */
const S = {
  user: 'proxyuser7',
  pass: 'hunter2-PASS',
  token: 'tok3n-VALUE',
  key: 'k3y-VALUE-42',
  sig: 'sig-VALUE-99',
  amz: 'AMZ-SIGNATURE-abc',
  secret: 'client-SECRET-xyz',
  pwd: 'pw-VALUE-77',
  auth: 'auth-VALUE-13',
  registered: 'registered-secret-value',
};

function bufferLogger() {
  const lines: string[] = [];
  const stream = new Writable({
    write(chunk: Buffer, _enc, done) {
      lines.push(chunk.toString());
      done();
    },
  });
  return { log: createLogger('trace', stream), text: () => lines.join('') };
}

function assertNoSecret(out: string): void {
  for (const [name, value] of Object.entries(S)) assert.ok(!out.includes(value), `${name} (${value}) leaked in: ${out}`);
}

test('credentials in URLs are scrubbed from every log line, in nested fields, messages and errors', () => {
  registerSecret(S.registered);
  const { log, text } = bufferLogger();
  const config = {
    backend: 'runpod',
    discord: { apiBaseUrl: `https://${S.user}:${S.pass}@discord-proxy.example/api` },
    runpod: { baseUrl: `https://api.runpod.example/v2?api_key=${S.key}&region=eu` },
    hooks: [{ url: `wss://gateway.example/?v=10&access_token=${S.token}#frag` }],
    deep: { a: { b: { c: `see http://${S.user}@host.example:8080/x and https://cdn.example/f.wav?X-Amz-Signature=${S.amz}&sig=${S.sig}` } } },
  };
  log.info(config, 'starting');
  log.info(`connecting to https://${S.user}:${S.pass}@discord-proxy.example/api?client_secret=${S.secret}`);

  const inner = new Error(`fetch https://u:${S.pwd}@internal.example/ failed`);
  const err = new Error(`Could not connect to https://${S.user}:${S.pass}@discord-proxy.example/api?password=${S.pwd}&Auth=${S.auth}`, {
    cause: inner,
  });
  log.error({ err }, 'could not connect');
  log.error({ err: { message: err.message, nested: [{ detail: `token ${S.registered}` }] } }, 'described');
  log.warn({ raw: `"quoted https://${S.user}:${S.pass}@h.example"` }, 'quoted');

  const out = text();
  assertNoSecret(out);
  // Still useful: hosts, paths and harmless parameters are kept.
  for (const kept of ['discord-proxy.example/api', 'api.runpod.example/v2?api_key=[redacted]&region=eu', 'v=10', 'host.example:8080/x', '#frag']) {
    assert.ok(out.includes(kept), `${kept} kept in: ${out}`);
  }
  assert.ok(out.includes('https://[redacted]@discord-proxy.example/api'));
});

test('scrub: what changes and what does not', () => {
  const cases: [string, string][] = [
    ['https://user:pass@host.example/path', 'https://[redacted]@host.example/path'],
    ['http://a:b@c@host.example', 'http://[redacted]@host.example'],
    ['https://host.example/path@not-userinfo', 'https://host.example/path@not-userinfo'],
    ['https://host.example/?token=abc&x=1', 'https://host.example/?token=[redacted]&x=1'],
    ['https://h.example/?x=1&apiKey=abc#top', 'https://h.example/?x=1&apiKey=[redacted]#top'],
    ['https://h.example/?voice=narrator&speed=1', 'https://h.example/?voice=narrator&speed=1'],
    ['mail bob@example.com about https://discord.com/api', 'mail bob@example.com about https://discord.com/api'],
    ['no urls at all', 'no urls at all'],
  ];
  for (const [input, expected] of cases) assert.equal(scrub(input), expected, input);
});
