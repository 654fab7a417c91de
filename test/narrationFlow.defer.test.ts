/**
 * When /narrate defers its reply: DEFER_AFTER_MS (1 s) after Discord created the interaction, so the time the
 * interaction spent reaching the bot (a slow gateway, a lagging event loop) comes out of the wait instead of out of
 * Discord's 3 s; never longer than 1 s from now whatever the clocks say.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { deferDelay } from '../src/commands/narrationFlow.js';

test('deferDelay: counts from the interaction’s creation, bounded to [0, 1 s]', () => {
  const now = 1_800_000_000_000;
  assert.equal(deferDelay(now, now), 1_000, 'delivered at once: the whole second');
  assert.equal(deferDelay(now - 400, now), 600, 'delivered 400 ms late: 600 ms left');
  assert.equal(deferDelay(now - 1_000, now), 0, 'a second late: defer at once');
  assert.equal(deferDelay(now - 2_500, now), 0, 'later still: at once, never negative');
  assert.equal(deferDelay(now + 5_000, now), 1_000, 'our clock behind Discord’s: no longer than a second');
  assert.equal(deferDelay(Number.NaN, now), 1_000, 'no creation time: a second from now');
});
