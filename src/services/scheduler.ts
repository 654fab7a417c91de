/**
 * The one process-wide limit on concurrent TTS jobs, handing each freed slot to the chunk the listeners need first.
 *
 * Every queued task carries a deadline (ms on the performance.now() clock): for a narration's chunk, the moment
 * playback will reach it. A freed slot goes to the earliest deadline across all requesters (narrations). That is
 * what fairness means for a listener: a short narration arriving beside a long one needs its first chunk *now*,
 * while the long one's queued chunks are needed only after the minutes of audio it has already made, so the
 * newcomer is served first; and a narration whose playback is far ahead never starves one that is behind.
 *
 * Within one requester, tasks start strictly in the order they were queued (a narration queues its chunks in text
 * order, with non-decreasing deadlines). A narration can *reserve* its places up front (`open(…).reserve()`),
 * before it knows whether a chunk needs a job at all (the cache look-up is asynchronous): a reserved place that is
 * still undecided holds back the requester's later tasks, so jobs start in text order whatever order the look-ups
 * finish in; a cache hit releases its place without ever taking a slot.
 *
 * Structure: each requester has a FIFO of tickets (an intrusive linked list: an aborted ticket is unlinked in
 * place); the requesters whose first ticket is ready (and who are not paused) sit in a binary min-heap keyed by
 * that ticket's deadline = requester anchor + ticket offset, so re-basing a whole narration (`setAnchor`) is one
 * O(log n) re-key. Every operation is O(log requesters) or O(1). Queued tickets are grouped per AbortSignal so a
 * narration's 100 queued chunks share one 'abort' listener (Node's EventTarget scans its listener list on every
 * add/remove, which would make per-task listeners quadratic). A requester's state exists only while it has queued
 * or running work or an open handle.
 *
 * Look-ahead (opt-in per requester, `open(…, { lookaheadMs })`): a narration someone listens to in real time
 * needs a chunk only when playback reaches it, so its first queued task does not start while its deadline is more
 * than `lookaheadMs` beyond now. The requester is then *held*: out of the heap, with one timer (unref'd: it never
 * keeps the process alive) set for the moment the deadline comes within reach; re-anchoring, pause, cancellation and
 * the end of its queued work re-decide it, so a held requester never has a stale or leftover timer. This bounds what a /stop wastes and
 * what memory holds ahead of the listener to `lookaheadMs` of audio, without a second limit: the held requester
 * simply does not compete for slots, everything else (earliest deadline first, text order, reserved places) is
 * unchanged. While the listener's clock is stopped (`setListening(false)`, a user's pause) the window does not
 * move. Requesters without a listener clock (CLI, file outputs, the bench) are never held.
 *
 * A `round-robin` policy (least recently served requester first, ignoring deadlines) exists only so the bench can
 * compare the two.
 */
import { NarratorError, abortError } from './errors.js';

export type SchedulerTask<T> = (signal: AbortSignal) => Promise<T>;

export interface RunOptions {
  /** Aborting removes the task if still queued (its promise rejects); a running task sees it through its own signal. */
  readonly signal?: AbortSignal;
  /** When the result is needed (performance.now() ms). Default: now, i.e. as soon as possible. */
  readonly deadline?: number;
}

export interface SchedulerOptions {
  /** `deadline` (default): earliest deadline first. `round-robin`: for the bench's comparison only. */
  readonly policy?: 'deadline' | 'round-robin';
  /** The clock and timers of the look-ahead (default: performance.now and unref'd setTimeout); tests pass a fake. */
  readonly clock?: SchedulerClock;
}

/** What the look-ahead needs of time: a clock on the deadlines' scale (performance.now ms) and one-shot timers. */
export interface SchedulerClock {
  now(): number;
  /** Calls `fn` once after `ms`; the timer must not keep the process alive. */
  setTimer(fn: () => void, ms: number): unknown;
  clearTimer(handle: unknown): void;
}

const REAL_CLOCK: SchedulerClock = {
  now: () => performance.now(),
  setTimer: (fn, ms) => setTimeout(fn, ms).unref(),
  clearTimer: (handle) => clearTimeout(handle as NodeJS.Timeout),
};

export interface OpenOptions {
  /**
   * Hold each task until its deadline is at most this far (ms) beyond now: for a narration paced by a listener.
   * Omit (or Infinity) to start tasks as soon as a slot is free.
   */
  readonly lookaheadMs?: number;
}

export interface RequesterStats {
  readonly requesterId: string;
  readonly queued: number;
  readonly active: number;
  /** Tasks started for this requester since its state was created. */
  readonly started: number;
}

/** A narration's standing in the scheduler: its anchor, its reserved places, pause. Close it when done. */
export interface RequesterHandle {
  /**
   * Reserves the next place in this requester's order. `offsetMs` is added to the anchor to give the deadline.
   * Aborting `signal` drops the place (a later `run` on it then rejects, or re-queues if its own signal is live).
   */
  reserve(offsetMs: number, signal?: AbortSignal): SlotTicket;
  /** Re-bases every queued deadline of this requester: deadline = anchor + offset. */
  setAnchor(anchorMs: number): void;
  readonly anchor: number;
  /**
   * Whether the listener's clock runs (default true). While it is stopped (a user paused playback) the look-ahead
   * window stays where it was: nothing further ahead starts. No effect without a look-ahead.
   */
  setListening(listening: boolean): void;
  /** While paused none of its queued tasks starts (running ones finish). */
  pause(): void;
  resume(): void;
  readonly paused: boolean;
  /** Forget the requester once its work is done; idempotent. */
  close(): void;
}

/** A reserved place in a requester's order. */
export interface SlotTicket {
  /**
   * Runs `task` in this place once a slot is free and it is the earliest deadline. `signal` replaces the
   * reservation's signal from now on. Called after the place was dropped, the task is queued again at the back.
   */
  run<T>(task: SchedulerTask<T>, opts?: { readonly signal?: AbortSignal }): Promise<T>;
  /** Gives the place up without running anything (cache hit); no-op once `run` was called. */
  release(): void;
}

/** Handed to tasks run without a signal: one shared signal that never aborts. */
const NEVER_ABORTED = new AbortController().signal;

export class FairScheduler {
  readonly #concurrency: number;
  readonly #roundRobin: boolean;
  readonly #clock: SchedulerClock;
  #active = 0;
  #queued = 0;
  /** Orders tickets of equal deadline (reservation order) and round-robin turns. */
  #seq = 0;
  #pumpScheduled = false;
  readonly #requesters = new Map<string, Requester>();
  /** Requesters whose first ticket can start now, earliest deadline on top. */
  readonly #heap = new RequesterHeap();
  /** Queued tickets by the signal that can cancel them, with the one listener registered on that signal. */
  readonly #bySignal = new Map<AbortSignal, SignalWatch>();

  constructor(concurrency: number, options: SchedulerOptions = {}) {
    if (!Number.isInteger(concurrency) || concurrency < 1) {
      throw new NarratorError('config', 'bad_concurrency', `The job concurrency must be a whole number ≥ 1 (got ${concurrency}).`);
    }
    this.#concurrency = concurrency;
    this.#roundRobin = options.policy === 'round-robin';
    this.#clock = options.clock ?? REAL_CLOCK;
  }

  get concurrency(): number {
    return this.#concurrency;
  }

  /** Now on the deadlines' clock (performance.now() ms unless a test clock was given). */
  now(): number {
    return this.#clock.now();
  }

  /** Tasks running now (never more than `concurrency`). */
  get active(): number {
    return this.#active;
  }

  /** Tasks waiting for a slot, reserved places included. */
  get queued(): number {
    return this.#queued;
  }

  /**
   * Of `queued`, the tasks that wait on their narration rather than on a slot: held by the look-ahead (the listener
   * is far from them) or paused. /status tells these apart from real contention.
   */
  get held(): number {
    let n = 0;
    for (const r of this.#requesters.values()) if (r.paused || this.#heldBack(r)) n += r.queue.size;
    return n;
  }

  /** One row per requester that currently has queued or running work (or an open handle). */
  stats(): RequesterStats[] {
    return [...this.#requesters.values()].map((r) => ({
      requesterId: r.id,
      queued: r.queue.size,
      active: r.active,
      started: r.started,
    }));
  }

  /** Look-ahead timers armed now (one per held requester): 0 once everything is done or cancelled. */
  get timers(): number {
    let n = 0;
    for (const r of this.#requesters.values()) if (r.holdTimer !== undefined) n++;
    return n;
  }

  /**
   * Runs `task` once a slot is free and its deadline is the earliest; settles as the task settles. Tasks of one
   * requester start in the order they were queued. Rejects with `abortError(signal)` without running the task if the
   * signal aborts first.
   */
  run<T>(requesterId: string, task: SchedulerTask<T>, opts: RunOptions = {}): Promise<T> {
    if (opts.signal?.aborted) return Promise.reject(abortError(opts.signal));
    const requester = this.#requester(requesterId, 0);
    const offset = (opts.deadline ?? this.#clock.now()) - requester.anchor;
    return this.#enqueueReady(requester, offset, task as SchedulerTask<unknown>, opts.signal) as Promise<T>;
  }

  /**
   * A handle for one requester (a narration) whose tasks' deadlines are `anchor + offset`. The requester's state is
   * kept until the handle is closed and its work is done.
   */
  open(requesterId: string, anchorMs: number = this.#clock.now(), options: OpenOptions = {}): RequesterHandle {
    const requester = this.#requester(requesterId, anchorMs);
    requester.anchor = anchorMs;
    const lookahead = options.lookaheadMs;
    if (lookahead !== undefined && !(lookahead >= 0)) {
      throw new NarratorError('config', 'bad_lookahead', `The synthesis look-ahead must be ≥ 0 ms (got ${lookahead}).`);
    }
    requester.lookahead = lookahead === undefined || lookahead === Infinity ? undefined : lookahead;
    requester.handles++;
    let closed = false;
    const self = this;
    return {
      reserve: (offsetMs, signal) => this.#reserve(requester, offsetMs, signal),
      setAnchor: (anchor) => {
        requester.anchor = anchor;
        this.#refresh(requester);
        // An earlier anchor may bring a held task within the look-ahead.
        if (requester.lookahead !== undefined) this.#pump();
      },
      get anchor() {
        return requester.anchor;
      },
      setListening: (listening) => {
        if (listening === (requester.frozenAt === undefined)) return;
        requester.frozenAt = listening ? undefined : this.#clock.now();
        this.#refresh(requester);
        this.#pump();
      },
      pause: () => {
        requester.paused = true;
        this.#refresh(requester);
      },
      resume: () => {
        if (!requester.paused) return;
        requester.paused = false;
        this.#refresh(requester);
        this.#pump();
      },
      get paused() {
        return requester.paused;
      },
      close() {
        if (closed) return;
        closed = true;
        requester.handles--;
        self.#forgetIfIdle(requester);
      },
    };
  }

  #requester(id: string, anchor: number): Requester {
    let requester = this.#requesters.get(id);
    if (!requester) {
      requester = {
        id,
        anchor,
        paused: false,
        queue: new LinkedQueue<Ticket>(),
        active: 0,
        started: 0,
        handles: 0,
        heapIndex: -1,
        key: 0,
        tie: 0,
        servedAt: 0,
        lookahead: undefined,
        frozenAt: undefined,
        holdTimer: undefined,
      };
      this.#requesters.set(id, requester);
    }
    return requester;
  }

  #reserve(requester: Requester, offset: number, signal: AbortSignal | undefined): SlotTicket {
    const ticket = this.#newTicket(requester, offset, signal);
    if (signal?.aborted) {
      ticket.state = 'gone';
    } else {
      this.#push(ticket);
    }
    return {
      run: <T>(task: SchedulerTask<T>, opts: { readonly signal?: AbortSignal } = {}) => this.#runTicket(ticket, task as SchedulerTask<unknown>, opts.signal) as Promise<T>,
      release: () => {
        if (ticket.state === 'pending') this.#drop(ticket);
      },
    };
  }

  #newTicket(requester: Requester, offset: number, signal: AbortSignal | undefined): Ticket {
    return { requester, offset, seq: ++this.#seq, signal, state: 'pending', task: undefined, resolve: undefined, reject: undefined, queueNode: undefined };
  }

  /** Appends a ticket to its requester's queue (re-registering a forgotten requester) and watches its signal. */
  #push(ticket: Ticket): void {
    const requester = ticket.requester;
    if (!this.#requesters.has(requester.id)) this.#requesters.set(requester.id, requester);
    ticket.queueNode = requester.queue.push(ticket);
    this.#queued++;
    if (ticket.signal) this.#watch(ticket.signal, ticket);
    if (requester.queue.size === 1) this.#refresh(requester);
  }

  #enqueueReady(requester: Requester, offset: number, task: SchedulerTask<unknown>, signal: AbortSignal | undefined): Promise<unknown> {
    if (signal?.aborted) return Promise.reject(abortError(signal));
    const ticket = this.#newTicket(requester, offset, signal);
    const done = new Promise<unknown>((resolve, reject) => {
      ticket.resolve = resolve;
      ticket.reject = reject;
    });
    ticket.task = task;
    ticket.state = 'ready';
    this.#push(ticket);
    this.#pump();
    return done;
  }

  #runTicket(ticket: Ticket, task: SchedulerTask<unknown>, signal: AbortSignal | undefined): Promise<unknown> {
    if (ticket.state !== 'pending') {
      // The place was dropped because its reservation was cancelled (the narration stopped): nothing may start for
      // it, whatever signal this call brings (a shared cache look-up's may not have aborted yet).
      if (ticket.signal?.aborted) return Promise.reject(abortError(ticket.signal));
      // Already used (a second job for the same place, e.g. after a cached entry failed to decode): queue again.
      return this.#enqueueReady(ticket.requester, ticket.offset, task, signal);
    }
    if (signal?.aborted) {
      this.#drop(ticket);
      return Promise.reject(abortError(signal));
    }
    return new Promise((resolve, reject) => {
      ticket.resolve = resolve;
      ticket.reject = reject;
      ticket.task = task;
      ticket.state = 'ready';
      if (ticket.signal !== signal) {
        if (ticket.signal) this.#unwatch(ticket.signal, ticket);
        ticket.signal = signal;
        if (signal) this.#watch(signal, ticket);
      }
      if (ticket.requester.queue.head?.value === ticket) this.#refresh(ticket.requester);
      this.#pumpSoon();
    });
  }

  /**
   * Pumps once the current burst of decisions is in: places decided in the same turn of the event loop (several
   * narrations started at once, their look-ups answered together) then compete by deadline, instead of the first
   * decided taking every free slot.
   */
  #pumpSoon(): void {
    if (this.#pumpScheduled) return;
    this.#pumpScheduled = true;
    setImmediate(() => {
      this.#pumpScheduled = false;
      this.#pump();
    });
  }

  /** Starts the earliest-deadline ready tickets while slots are free. */
  #pump(): void {
    while (this.#active < this.#concurrency) {
      const requester = this.#heap.peek();
      if (!requester) return;
      const ticket = requester.queue.shift();
      // A requester is in the heap only while its first ticket is ready (see #refresh), so `ticket` is ready.
      if (!ticket || ticket.state !== 'ready') throw new Error('FairScheduler invariant broken: a requester in the heap has no ready ticket');
      ticket.queueNode = undefined;
      this.#queued--;
      if (ticket.signal) this.#unwatch(ticket.signal, ticket);
      requester.servedAt = ++this.#seq;
      this.#refresh(requester);
      this.#start(ticket);
    }
  }

  /**
   * Puts the requester in the heap, re-keys it, or takes it out, after anything that changes its first ticket (or
   * its anchor, pause, listener clock). A ready first ticket beyond the look-ahead holds it out, with a timer.
   */
  #refresh(requester: Requester): void {
    const head = requester.queue.head?.value;
    const eligible = head !== undefined && head.state === 'ready' && !requester.paused;
    this.#disarm(requester);
    if (!eligible || this.#heldBack(requester)) {
      if (requester.heapIndex >= 0) this.#heap.remove(requester);
      // The clock stopped (user pause): nothing to wait for until it runs again.
      if (eligible && requester.frozenAt === undefined) this.#arm(requester);
      return;
    }
    requester.key = this.#roundRobin ? requester.servedAt : requester.anchor + head.offset;
    requester.tie = head.seq;
    if (requester.heapIndex >= 0) this.#heap.update(requester);
    else this.#heap.push(requester);
  }

  /** Is the requester's first ticket's deadline beyond its look-ahead from now (its listener's now, if stopped)? */
  #heldBack(requester: Requester): boolean {
    const head = requester.queue.head?.value;
    if (requester.lookahead === undefined || !head) return false;
    const now = requester.frozenAt ?? this.#clock.now();
    return requester.anchor + head.offset - requester.lookahead > now;
  }

  /** One timer per held requester, for when its first deadline comes within the look-ahead. */
  #arm(requester: Requester): void {
    const head = requester.queue.head!.value;
    const releaseAt = requester.anchor + head.offset - requester.lookahead!;
    // At least 1 ms: a timer may fire a fraction of a millisecond early on the performance clock; it then re-arms.
    const delay = Math.max(1, Math.ceil(releaseAt - this.#clock.now()));
    requester.holdTimer = this.#clock.setTimer(() => {
      requester.holdTimer = undefined;
      this.#refresh(requester);
      this.#pump();
    }, delay);
  }

  #disarm(requester: Requester): void {
    if (requester.holdTimer === undefined) return;
    this.#clock.clearTimer(requester.holdTimer);
    requester.holdTimer = undefined;
  }

  #start(ticket: Ticket): void {
    const { requester } = ticket;
    ticket.state = 'started';
    this.#active++;
    requester.active++;
    requester.started++;
    let settled: Promise<unknown>;
    try {
      settled = ticket.task!(ticket.signal ?? NEVER_ABORTED);
    } catch (err) {
      settled = Promise.reject(err);
    }
    // Free the slot before settling the caller's promise, so code awaiting the result sees the updated counts.
    Promise.resolve(settled).then(
      (value) => {
        this.#release(requester);
        ticket.resolve!(value);
      },
      (err: unknown) => {
        this.#release(requester);
        ticket.reject!(err);
      },
    );
  }

  #release(requester: Requester): void {
    this.#active--;
    requester.active--;
    this.#forgetIfIdle(requester);
    this.#pump();
  }

  /** Removes a queued ticket (released, or its signal aborted); a ready one's promise rejects. */
  #drop(ticket: Ticket, reason?: unknown): void {
    const { requester, queueNode } = ticket;
    if (!queueNode) return;
    const wasHead = requester.queue.head === queueNode;
    requester.queue.remove(queueNode);
    ticket.queueNode = undefined;
    this.#queued--;
    if (ticket.signal) this.#unwatch(ticket.signal, ticket);
    const wasReady = ticket.state === 'ready';
    ticket.state = 'gone';
    if (wasHead) this.#refresh(requester);
    this.#forgetIfIdle(requester);
    if (wasReady) ticket.reject!(reason ?? new NarratorError('aborted', 'aborted', 'Narration was cancelled.'));
    // The next ticket may be ready now that an undecided one no longer holds it back.
    if (wasHead) this.#pump();
  }

  #forgetIfIdle(requester: Requester): void {
    if (requester.active === 0 && requester.queue.size === 0 && requester.handles === 0 && this.#requesters.get(requester.id) === requester) {
      this.#disarm(requester);
      this.#requesters.delete(requester.id);
    }
  }

  #watch(signal: AbortSignal, ticket: Ticket): void {
    let watch = this.#bySignal.get(signal);
    if (!watch) {
      const tickets = new Set<Ticket>();
      const onAbort = (): void => {
        this.#bySignal.delete(signal);
        const reason = abortError(signal);
        for (const queued of tickets) this.#drop(queued, reason);
        tickets.clear();
      };
      watch = { tickets, onAbort };
      this.#bySignal.set(signal, watch);
      signal.addEventListener('abort', onAbort, { once: true });
    }
    watch.tickets.add(ticket);
  }

  #unwatch(signal: AbortSignal, ticket: Ticket): void {
    const watch = this.#bySignal.get(signal);
    if (!watch || !watch.tickets.delete(ticket)) return;
    if (watch.tickets.size === 0) {
      this.#bySignal.delete(signal);
      signal.removeEventListener('abort', watch.onAbort);
    }
  }
}

interface Requester {
  readonly id: string;
  /** Deadlines of its tickets are anchor + offset. */
  anchor: number;
  paused: boolean;
  readonly queue: LinkedQueue<Ticket>;
  active: number;
  started: number;
  /** Open handles; the state is kept while any is open. */
  handles: number;
  /** Position in the heap, -1 when not in it. */
  heapIndex: number;
  /** Heap key (deadline of the first ticket, or last service for round-robin) and its tie-break. */
  key: number;
  tie: number;
  servedAt: number;
  /** Look-ahead in ms (undefined: none, never held). */
  lookahead: number | undefined;
  /** When the listener's clock stopped (a user's pause); undefined while it runs. */
  frozenAt: number | undefined;
  /** Armed while held: fires when the first deadline comes within the look-ahead. */
  holdTimer: unknown;
}

interface Ticket {
  readonly requester: Requester;
  readonly offset: number;
  readonly seq: number;
  signal: AbortSignal | undefined;
  /** pending: reserved, undecided; ready: has a task; started; gone: dropped or released. */
  state: 'pending' | 'ready' | 'started' | 'gone';
  task: SchedulerTask<unknown> | undefined;
  resolve: ((value: unknown) => void) | undefined;
  reject: ((reason: unknown) => void) | undefined;
  /** Where this ticket sits in its requester's queue; undefined once started or dropped. */
  queueNode: ListNode<Ticket> | undefined;
}

interface SignalWatch {
  readonly tickets: Set<Ticket>;
  readonly onAbort: () => void;
}

/** Binary min-heap of requesters by (key, tie), each knowing its index so it can be re-keyed or removed in O(log n). */
class RequesterHeap {
  readonly #items: Requester[] = [];

  peek(): Requester | undefined {
    return this.#items[0];
  }

  push(r: Requester): void {
    r.heapIndex = this.#items.length;
    this.#items.push(r);
    this.#up(r.heapIndex);
  }

  update(r: Requester): void {
    this.#up(r.heapIndex);
    this.#down(r.heapIndex);
  }

  remove(r: Requester): void {
    const i = r.heapIndex;
    const last = this.#items.pop()!;
    r.heapIndex = -1;
    if (last === r) return;
    this.#items[i] = last;
    last.heapIndex = i;
    this.#up(i);
    this.#down(last.heapIndex);
  }

  #less(a: Requester, b: Requester): boolean {
    return a.key < b.key || (a.key === b.key && a.tie < b.tie);
  }

  #swap(i: number, j: number): void {
    const a = this.#items[i]!;
    const b = this.#items[j]!;
    this.#items[i] = b;
    this.#items[j] = a;
    a.heapIndex = j;
    b.heapIndex = i;
  }

  #up(i: number): void {
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (!this.#less(this.#items[i]!, this.#items[parent]!)) return;
      this.#swap(i, parent);
      i = parent;
    }
  }

  #down(i: number): void {
    const n = this.#items.length;
    for (;;) {
      const l = 2 * i + 1;
      const r = l + 1;
      let best = i;
      if (l < n && this.#less(this.#items[l]!, this.#items[best]!)) best = l;
      if (r < n && this.#less(this.#items[r]!, this.#items[best]!)) best = r;
      if (best === i) return;
      this.#swap(i, best);
      i = best;
    }
  }
}

interface ListNode<T> {
  readonly value: T;
  prev: ListNode<T> | undefined;
  next: ListNode<T> | undefined;
}

/**
 * FIFO with O(1) push, shift and removal of any node by handle. Hand-written (a dozen lines) because the small
 * queue packages on npm (yocto-queue, denque) cannot remove an element from the middle in O(1).
 */
class LinkedQueue<T> {
  #head: ListNode<T> | undefined;
  #tail: ListNode<T> | undefined;
  #size = 0;

  get size(): number {
    return this.#size;
  }

  get head(): ListNode<T> | undefined {
    return this.#head;
  }

  push(value: T): ListNode<T> {
    const node: ListNode<T> = { value, prev: this.#tail, next: undefined };
    if (this.#tail) this.#tail.next = node;
    else this.#head = node;
    this.#tail = node;
    this.#size++;
    return node;
  }

  shift(): T | undefined {
    const node = this.#head;
    if (!node) return undefined;
    this.remove(node);
    return node.value;
  }

  /** The node must currently be in this queue. */
  remove(node: ListNode<T>): void {
    if (node.prev) node.prev.next = node.next;
    else this.#head = node.next;
    if (node.next) node.next.prev = node.prev;
    else this.#tail = node.prev;
    node.prev = undefined;
    node.next = undefined;
    this.#size--;
  }
}
