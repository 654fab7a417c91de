/**
 * What the fake noticed that a test author may need when something hangs: `problems` are things a real Discord
 * would have refused or ignored (bad token, unknown opcode, a voice join without Connect…) and are kept for
 * assertions (`assert.deepEqual(fake.problems, [])`); `debug` lines go to stderr only with FAKE_DISCORD_DEBUG=1.
 */
export class Diagnostics {
  readonly problems: string[] = [];
  readonly #debug: boolean;

  constructor(debug = process.env.FAKE_DISCORD_DEBUG === '1') {
    this.#debug = debug;
  }

  problem(message: string): void {
    this.problems.push(message);
    this.debug(`PROBLEM ${message}`);
  }

  debug(message: string): void {
    if (this.#debug) process.stderr.write(`[fake-discord ${performance.now().toFixed(0)}ms] ${message}\n`);
  }
}
