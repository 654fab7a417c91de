/**
 * What users read: the locale rule, every error code's text in both languages (never the internal detail), the
 * progress bar and status lines, and messages that always fit Discord's 2000 characters.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { NarratorError } from '../src/services/errors.js';
import {
  codeText,
  composeMessage,
  errorText,
  formatDuration,
  langOf,
  progressBar,
  inlineCodeSafe,
  quoteText,
  renderStatus,
  texts,
  truncate,
} from '../src/messages.js';

/** Every code the engine and the bot throw today (grep `new NarratorError(` in src/). */
const ENGINE_CODES = [
  'voice_unknown', 'voice_not_installed', 'speed_out_of_range', 'speed_invalid', 'bad_speed', 'text_too_long', 'too_many_timestamps', 'nothing_speakable',
  'worker_busy', 'rate_limited', 'duplicate_job', 'job_expired', 'server_error', 'download_failed', 'bad_response',
  'no_output', 'network', 'runpod_auth', 'endpoint_not_found', 'bad_config', 'local_tts_missing', 'handler_crashed',
  'inference_failed', 'tts_failed', 'worker_error', 'bad_audio', 'bad_request', 'local_tts_failed', 'job_timed_out',
  'job_deadline', 'narration_deadline', 'worker_timeout', 'cancelled_remotely', 'aborted', 'queue_full',
  'shutting_down', 'voice_connect_failed', 'busy_elsewhere',
];

describe('langOf', () => {
  test('Vietnamese for vi, English for everything else', () => {
    assert.equal(langOf('vi'), 'vi');
    assert.equal(langOf('en-US'), 'en');
    assert.equal(langOf('en-GB'), 'en');
    assert.equal(langOf('fr'), 'en');
    assert.equal(langOf(undefined), 'en');
    assert.equal(langOf(null), 'en');
  });
});

describe('texts', () => {
  test('both languages have every entry', () => {
    assert.deepEqual(Object.keys(texts('vi')).sort(), Object.keys(texts('en')).sort());
  });
});

describe('errorText', () => {
  test('every known code has its own text in both languages, without the internal detail', () => {
    for (const code of ENGINE_CODES) {
      for (const lang of ['en', 'vi'] as const) {
        const err = new NarratorError('permanent', code, 'internal message', 'SECRET worker traceback');
        const text = errorText(lang, err, { voices: ['narrator', 'female'], maxQueue: 10 });
        assert.ok(codeText(lang, code) !== undefined, `${code} is mapped`);
        assert.ok(text.length > 10 && text.length < 300, `${lang}/${code}: ${text}`);
        assert.ok(!text.includes('SECRET') && !text.includes('internal message'), `${lang}/${code} leaks nothing`);
      }
      assert.notEqual(codeText('en', code), codeText('vi', code), `${code} is translated`);
    }
  });

  test('the texts users need most are specific', () => {
    const err = (kind: 'user' | 'config' | 'transient' | 'permanent', code: string) => new NarratorError(kind, code, 'x');
    assert.match(errorText('en', err('user', 'voice_unknown'), { voices: ['narrator', 'female'] }), /Unknown voice\. Choose one of: narrator, female\./);
    assert.match(errorText('en', err('user', 'speed_out_of_range'), { speedMin: 0.5, speedMax: 2 }), /between 0\.5 and 2/);
    assert.match(errorText('en', err('user', 'text_too_long')), /too long/);
    assert.match(errorText('en', err('user', 'nothing_speakable')), /nothing to read aloud/);
    assert.match(errorText('en', err('transient', 'worker_busy')), /busy/);
    assert.match(errorText('en', err('permanent', 'job_expired')), /starting up/);
    assert.match(errorText('en', err('config', 'runpod_auth')), /RunPod API key/);
    assert.match(errorText('en', err('transient', 'server_error')), /having trouble/);
    assert.match(errorText('vi', err('transient', 'worker_busy')), /đang bận/);
    assert.match(errorText('en', err('user', 'queue_full'), { maxQueue: 7 }), /full \(7 narrations waiting\)/);
  });

  test('unknown codes fall back on their kind; anything else is "went wrong on my side"', () => {
    assert.match(errorText('en', new NarratorError('transient', 'brand_new', 'x')), /having trouble/);
    assert.match(errorText('en', new NarratorError('config', 'brand_new', 'x')), /not configured correctly/);
    assert.match(errorText('en', new NarratorError('timeout', 'brand_new', 'x')), /took too long/);
    assert.equal(errorText('en', new NarratorError('user', 'brand_new', 'Say it differently.')), 'Say it differently.');
    assert.match(errorText('vi', new NarratorError('user', 'brand_new', 'Say it differently.')), /Có lỗi/);
    assert.match(errorText('en', new TypeError('boom at secret.ts:12')), /^Something went wrong on my side/);
    assert.match(errorText('en', 'a string'), /^Something went wrong/);
  });
});

describe('progress and status', () => {
  test('progressBar fills proportionally and clamps', () => {
    assert.equal(progressBar(0, 4), '▱▱▱▱▱▱▱▱▱▱ 0/4');
    assert.equal(progressBar(2, 4), '▰▰▰▰▰▱▱▱▱▱ 2/4');
    assert.equal(progressBar(4, 4), '▰▰▰▰▰▰▰▰▰▰ 4/4');
    assert.equal(progressBar(9, 4), '▰▰▰▰▰▰▰▰▰▰ 4/4');
    assert.equal(progressBar(1, 3, 3), '▰▱▱ 1/3');
  });

  test('status lines: queued, synthesizing with worker notices, playing, failed mid-way', () => {
    assert.equal(renderStatus('en', { phase: 'queued', queuePosition: 3, chunksReady: 0, chunksTotal: 2 }), '⏳ Queued — position 3.');
    assert.equal(
      renderStatus('en', { phase: 'synthesizing', chunksReady: 0, chunksTotal: 4, waiting: 'cold_start' }),
      '🎙️ Preparing the audio… ▱▱▱▱▱▱▱▱▱▱ 0/4\n🧊 A worker is warming up (cold start) — the first part can take a minute.',
    );
    assert.match(renderStatus('en', { phase: 'synthesizing', chunksReady: 1, chunksTotal: 4, waiting: 'no_workers' }), /No worker is free/);
    assert.match(
      renderStatus('en', { phase: 'synthesizing', chunksReady: 1, chunksTotal: 4, retrying: 'worker_busy' }),
      /🔁 Retrying a part \(The speech workers are busy right now\)…/,
    );
    assert.equal(
      renderStatus('en', { phase: 'playing', chunksReady: 4, chunksTotal: 4, channelId: '77', waiting: 'cold_start' }),
      '▶️ Playing in <#77> · ▰▰▰▰▰▰▰▰▰▰ 4/4',
      'no worker notice once everything is ready',
    );
    assert.match(
      renderStatus('vi', { phase: 'playing', chunksReady: 2, chunksTotal: 4, failedMidway: new NarratorError('transient', 'network', 'x') }),
      /^▶️ Đang đọc · .*\n⚠️ Không kết nối được tới dịch vụ giọng nói\./,
    );
  });

  test('formatDuration and truncate', () => {
    assert.equal(formatDuration(0.4), '0:00');
    assert.equal(formatDuration(83.4), '1:23');
    assert.equal(formatDuration(3725), '1:02:05');
    assert.equal(truncate('abcdef', 4), 'abc…');
    assert.equal(truncate('abc', 4), 'abc');
    assert.equal(truncate('😀😀😀😀😀', 3), '😀😀…', 'counts code points, never splits a surrogate pair');
  });

  test('composeMessage keeps the status, quotes the text, and fits 2000 characters', () => {
    const long = 'Xin chào <@123> @everyone. '.repeat(300);
    const message = composeMessage('✅ Narrated', long);
    assert.ok(message.length <= 2000);
    assert.ok(message.startsWith('✅ Narrated\n```\nXin chào <@123> @everyone.'));
    assert.ok(message.endsWith('…\n```'));
    assert.equal(quoteText('a\nb'), '```\na\nb\n```');
    const huge = composeMessage('S'.repeat(1990), 'some text');
    assert.equal(huge, 'S'.repeat(1990), 'no room for the quote: the status alone');
  });
});

/**
 * What a Discord client renders specially in a message, read with Discord's markdown rules (simplified from its
 * parser, simple-markdown based): code blocks and inline code first — their content is literal — then, outside
 * them, links (masked, bare, `<…>`), headings, subtext, lists, block quotes, emphasis, spoilers, mentions,
 * timestamps, custom emoji and command mentions. A backslash escapes the next character.
 */
function renderedMarkup(content: string): string[] {
  const outside: string[] = [];
  let plain = '';
  let i = 0;
  const codeBlock = /```(?:([a-z0-9_+\-.#]+?)\n)?\n*([^\n][^]*?)\n*```/iy;
  const inlineCode = /(`+)([^]*?[^`])\1(?!`)/y;
  while (i < content.length) {
    if (content[i] === '\\' && i + 1 < content.length) {
      plain += ' ';
      i += 2;
      continue;
    }
    codeBlock.lastIndex = i;
    inlineCode.lastIndex = i;
    const block = content.startsWith('```', i) ? codeBlock.exec(content) : null;
    const inline = block ? null : content[i] === '`' ? inlineCode.exec(content) : null;
    const code = block ?? inline;
    if (code) {
      outside.push(plain);
      plain = '';
      i += code[0].length;
      continue;
    }
    plain += content[i];
    i++;
  }
  outside.push(plain);
  const rules: [string, RegExp][] = [
    ['masked link', /\[[^\]]*\]\(\s*<?[a-z]+:[^)]*\)/i],
    ['url', /\b(?:https?|steam|discord):\/\/\S/i],
    ['autolink', /<[a-z]+:[^>\s]+>/i],
    ['heading', /^ *#{1,3} \S/m],
    ['subtext', /^ *-# \S/m],
    ['list', /^ *(?:[-*+]|\d+\.) \S/m],
    ['quote', /^ *>(?:>>)? /m],
    ['bold/italic', /\*\S(?:[^*]*\S)?\*/],
    ['underline/italic', /(?:^|\W)_\S(?:[^_]*\S)?_(?:\W|$)/],
    ['strikethrough', /~~[^~]+~~/],
    ['spoiler', /\|\|[^|]+\|\|/],
    ['mention', /<(?:@[!&]?|#)\d+>|@(?:everyone|here)/],
    ['timestamp', /<t:-?\d+(?::[tTdDfFR])?>/],
    ['emoji', /<a?:\w+:\d+>/],
    ['command', /<\/[\w -]+:\d+>/],
  ];
  const found: string[] = [];
  for (const part of outside) for (const [name, rule] of rules) if (rule.test(part)) found.push(name);
  return found;
}

/** The literal content of the first code block, without the zero-width spaces the quoting adds. */
function codeBlockContent(content: string): string | undefined {
  const m = /```\n([^]*?)\n```(?![^]*```)/.exec(content);
  return m?.[1]?.replaceAll('\u200b', '');
}

const HOSTILE = [
  '[free Nitro](https://discord.gift.example/claim) — nhận ngay!',
  '[https://discord.com](https://evil.example)',
  'Xem https://evil.example/login và <https://evil.example/x>',
  '# Thông báo chính thức\n## từ đội ngũ Discord\n### hãy đọc',
  '-# chữ nhỏ ở đây',
  '- mục một\n* mục hai\n1. mục ba',
  '> trích dẫn\n>>> trích dài',
  '```js\nalert(1)\n```\n[link](https://evil.example)',
  'abc```\n# heading after a fake fence',
  '```',
  '````',
  '`inline` and ``double``',
  'a``` ``` ```b',
  '\\```\n## escaped fence?',
  'js\n[x](https://evil.example)',
  '||spoiler|| **bold** *it* __u__ _it_ ~~s~~',
  '<@123> <@!123> <@&456> <#789> <t:0:F> @everyone @here <:blob:1> </narrate:1>',
  'text ending in a backtick`',
  '`leading backtick',
  `${'Đây là một câu dài. '.repeat(40)}\`\`\`\n# cut near a fence [x](https://evil.example)`,
];

describe('the user’s text echoed under the bot’s name', () => {
  const statuses = ['✅ Narrated · 0:03', texts('en').tokenExpiredPrefix({ userId: '42' })];
  test('no link, markup or mention of the user’s text renders; the text itself is shown whole', () => {
    for (const status of statuses) {
      for (const hostile of HOSTILE) {
        const message = composeMessage(status, hostile);
        assert.deepEqual(renderedMarkup(message), renderedMarkup(status), `rendered from ${JSON.stringify(hostile)}:\n${message}`);
        const shown = codeBlockContent(message);
        const expected = truncate(hostile.trim(), 600);
        assert.equal(shown, expected, 'the reader sees exactly what was narrated (cut to fit)');
      }
    }
  });

  test('random markdown soup never escapes the code block', () => {
    let seed = 1234;
    const random = () => ((seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31);
    const alphabet = ['`', '``', '```', '\n', '\\', '#', '-# ', '> ', '[a](https://x.example)', 'https://x.example', '<', '>', '*', '_', '|', '~', ' ', 'chữ', '@everyone', '<@1>', '1. '];
    for (let n = 0; n < 500; n++) {
      const parts = Array.from({ length: 1 + Math.floor(random() * 30) }, () => alphabet[Math.floor(random() * alphabet.length)]);
      const text = `x${parts.join('')}x`;
      const message = composeMessage('✅ Narrated', text);
      assert.deepEqual(renderedMarkup(message), [], JSON.stringify(text));
    }
  });

  test('/queue previews are inline code that cannot end early', () => {
    for (const hostile of HOSTILE) {
      const preview = `\`${inlineCodeSafe(hostile.replace(/\s+/g, ' ').trim())}\``;
      assert.deepEqual(renderedMarkup(preview), [], preview);
    }
  });
});
