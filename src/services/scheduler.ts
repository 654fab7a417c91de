/**
 * The one process-wide limit on concurrent TTS jobs, fair across requests.
 *
 * A plain semaphore serves waiters first-come-first-served, so one 100-chunk narration queued first would hold every
 * slot until it finished and a 3-chunk reply started later would wait behind all of it. Here each requester (a
 * narration) has its own FIFO queue of chunks, and a freed slot goes to the requester with queued work that has the
 * fewest jobs running, ties broken round-robin: a short request arriving behind a long one gets the next freed slots
 * until both hold an equal share. A requester that gets work joins the ring just ahead of the one served last, so
 * among equals nobody is served twice in a row while someone else is waiting.
 *
 * Everything is event driven (a slot frees when a task's promise settles, a queued task leaves when its signal
 * aborts) and every operation is O(1): queues are intrusive doubly linked lists so an aborted task is unlinked in
 * place, and queued tasks are grouped per AbortSignal so a narration's 100 queued chunks share one 'abort' listener
 * (Node's EventTarget scans its listener list on every add/remove, which would make per-task listeners quadratic).
 * A requester's state exists only while it has queued or running work.
 */
import { NarratorError, abortError } from './errors.js';

export type SchedulerTask<T> = (signal: AbortSignal) => Promise<T>;

export interface RunOptions {
  /** Aborting removes the task if still queued (its promise rejects); a running task sees it through its own signal. */
  readonly signal?: AbortSignal;
}

export interface RequesterStats {
  readonly requesterId: string;
  readonly queued: number;
  readonly active: number;
  /** Tasks started for this requester since its state was created. */
  readonly started: number;
}

/** Handed to tasks run without a signal: one shared signal that never aborts. */
const NEVER_ABORTED = new AbortController().signal;

export class FairScheduler {
  readonly #concurrency: number;
  #active = 0;
  #queued = 0;
  readonly #requesters = new Map<string, Requester>();
  /** Requesters with queued work, in the order they will be served; the one just served goes to the back. */
  readonly #ring = new LinkedQueue<Requester>();
  /** The requester served most recently; whenever it is in the ring it is at the back. */
  #lastServed: Requester | undefined;
  /** Queued jobs by the signal that can cancel them, with the one listener registered on that signal. */
  readonly #bySignal = new Map<AbortSignal, SignalWatch>();

  constructor(concurrency: number) {
    if (!Number.isInteger(concurrency) || concurrency < 1) {
      throw new NarratorError('config', 'bad_concurrency', `The job concurrency must be a whole number ≥ 1 (got ${concurrency}).`);
    }
    this.#concurrency = concurrency;
  }

  get concurrency(): number {
    return this.#concurrency;
  }

  /** Tasks running now (never more than `concurrency`). */
  get active(): number {
    return this.#active;
  }

  /** Tasks waiting for a slot. */
  get queued(): number {
    return this.#queued;
  }

  /** One row per requester that currently has queued or running work. */
  stats(): RequesterStats[] {
    return [...this.#requesters.values()].map((r) => ({
      requesterId: r.id,
      queued: r.queue.size,
      active: r.active,
      started: r.started,
    }));
  }

  /**
   * Runs `task` once a slot is free and it is `requesterId`'s turn; settles as the task settles.
   * Rejects with `abortError(signal)` without running the task if the signal aborts first.
   */
  run<T>(requesterId: string, task: SchedulerTask<T>, opts: RunOptions = {}): Promise<T> {
    const { signal } = opts;
    if (signal?.aborted) return Promise.reject(abortError(signal));
    return new Promise<T>((resolve, reject) => {
      let requester = this.#requesters.get(requesterId);
      if (!requester) {
        requester = { id: requesterId, queue: new LinkedQueue<Job>(), active: 0, started: 0, ringNode: undefined };
        this.#requesters.set(requesterId, requester);
      }
      const job: Job = {
        requester,
        task: task as SchedulerTask<unknown>,
        resolve: resolve as (value: unknown) => void,
        reject,
        signal,
        queueNode: undefined,
      };
      job.queueNode = requester.queue.push(job);
      this.#queued++;
      if (!requester.ringNode) requester.ringNode = this.#enterRing(requester);
      if (signal) this.#watch(signal, job);
      this.#pump();
    });
  }

  /**
   * A requester that gets work goes to the back of the ring, but ahead of the one served last, so that no
   * requester is served twice in a row while another has work queued.
   */
  #enterRing(requester: Requester): ListNode<Requester> {
    const last = this.#lastServed?.ringNode;
    return last && this.#lastServed !== requester ? this.#ring.insertBefore(last, requester) : this.#ring.push(requester);
  }

  /** Starts queued jobs, one requester at a time in ring order, while slots are free. */
  #pump(): void {
    while (this.#active < this.#concurrency) {
      const node = this.#leastActive();
      if (!node) return;
      const requester = node.value;
      this.#ring.remove(node);
      const job = requester.queue.shift();
      // A requester is in the ring only while its queue is non-empty (see #cancelQueued), so `job` is always defined.
      if (!job) throw new Error('FairScheduler invariant broken: empty requester in the ring');
      requester.ringNode = requester.queue.size > 0 ? this.#ring.push(requester) : undefined;
      this.#lastServed = requester;
      job.queueNode = undefined;
      this.#queued--;
      if (job.signal) this.#unwatch(job.signal, job);
      this.#start(job);
    }
  }

  /**
   * The requester to serve next: the one with the fewest jobs running (ties: ring order, i.e. round-robin). Plain
   * round-robin would give a newcomer only every other freed slot while a long narration holds all the others;
   * fewest-running-first hands it slots until both have an equal share. O(requesters with queued work) per start,
   * stopping early at one with nothing running.
   */
  #leastActive(): ListNode<Requester> | undefined {
    let best = this.#ring.head;
    for (let node = best?.next; node && best && best.value.active > 0; node = node.next) {
      if (node.value.active < best.value.active) best = node;
    }
    return best;
  }

  #start(job: Job): void {
    const { requester } = job;
    this.#active++;
    requester.active++;
    requester.started++;
    let settled: Promise<unknown>;
    try {
      settled = job.task(job.signal ?? NEVER_ABORTED);
    } catch (err) {
      settled = Promise.reject(err);
    }
    // Free the slot before settling the caller's promise, so code awaiting the result sees the updated counts.
    Promise.resolve(settled).then(
      (value) => {
        this.#release(requester);
        job.resolve(value);
      },
      (err: unknown) => {
        this.#release(requester);
        job.reject(err);
      },
    );
  }

  #release(requester: Requester): void {
    this.#active--;
    requester.active--;
    this.#forgetIfIdle(requester);
    this.#pump();
  }

  /** Removes a still-queued job (its signal aborted) and rejects it; the task never runs. */
  #cancelQueued(job: Job, signal: AbortSignal): void {
    const { requester, queueNode } = job;
    if (!queueNode) return;
    requester.queue.remove(queueNode);
    job.queueNode = undefined;
    this.#queued--;
    if (requester.queue.size === 0 && requester.ringNode) {
      this.#ring.remove(requester.ringNode);
      requester.ringNode = undefined;
    }
    this.#forgetIfIdle(requester);
    job.reject(abortError(signal));
  }

  #forgetIfIdle(requester: Requester): void {
    if (requester.active === 0 && requester.queue.size === 0 && this.#requesters.get(requester.id) === requester) {
      this.#requesters.delete(requester.id);
      if (this.#lastServed === requester) this.#lastServed = undefined;
    }
  }

  #watch(signal: AbortSignal, job: Job): void {
    let watch = this.#bySignal.get(signal);
    if (!watch) {
      const jobs = new Set<Job>();
      const onAbort = (): void => {
        this.#bySignal.delete(signal);
        for (const queuedJob of jobs) this.#cancelQueued(queuedJob, signal);
        jobs.clear();
      };
      watch = { jobs, onAbort };
      this.#bySignal.set(signal, watch);
      signal.addEventListener('abort', onAbort, { once: true });
    }
    watch.jobs.add(job);
  }

  #unwatch(signal: AbortSignal, job: Job): void {
    const watch = this.#bySignal.get(signal);
    if (!watch) return;
    watch.jobs.delete(job);
    if (watch.jobs.size === 0) {
      this.#bySignal.delete(signal);
      signal.removeEventListener('abort', watch.onAbort);
    }
  }
}

interface Requester {
  readonly id: string;
  readonly queue: LinkedQueue<Job>;
  active: number;
  started: number;
  /** Where this requester sits in the ring; undefined while it has nothing queued. */
  ringNode: ListNode<Requester> | undefined;
}

interface Job {
  readonly requester: Requester;
  readonly task: SchedulerTask<unknown>;
  readonly resolve: (value: unknown) => void;
  readonly reject: (reason: unknown) => void;
  readonly signal: AbortSignal | undefined;
  /** Where this job sits in its requester's queue; undefined once started or cancelled. */
  queueNode: ListNode<Job> | undefined;
}

interface SignalWatch {
  readonly jobs: Set<Job>;
  readonly onAbort: () => void;
}

interface ListNode<T> {
  readonly value: T;
  prev: ListNode<T> | undefined;
  next: ListNode<T> | undefined;
}

/**
 * FIFO with O(1) push, insert-before, shift and removal of any node by handle. Hand-written (a dozen lines) because the small
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

  /** Inserts `value` just before `node`, which must currently be in this queue. */
  insertBefore(node: ListNode<T>, value: T): ListNode<T> {
    const inserted: ListNode<T> = { value, prev: node.prev, next: node };
    if (node.prev) node.prev.next = inserted;
    else this.#head = inserted;
    node.prev = inserted;
    this.#size++;
    return inserted;
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
