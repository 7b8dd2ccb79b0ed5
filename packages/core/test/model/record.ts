/**
 * What a history did, as data: operations with their start and end, every change the
 * shared store applied (in the store's own order), every frame published and delivered,
 * every gap, and the timeline. The checker reads it after the run; the timeline printer
 * prints it when a property fails.
 */
import type { Operation, Slot } from './history.js'

/** An operation started on an instance. Times are positions on the timeline. */
export interface OpRecord {
  readonly id: number
  readonly instance: number
  readonly op: Operation
  readonly start: number
  /** Clock (epoch ms) when it started. */
  readonly startedAt: number
  end?: number
  status: 'pending' | 'ok' | 'error'
  result?: unknown
  error?: string
}

/** A change the shared store applied, in store order (`seq`). */
export interface Mutation {
  readonly seq: number
  readonly t: number
  readonly instance: number
  /** The operation whose store call it was (undefined for background calls). */
  readonly opId: number | undefined
  readonly kind: 'set' | 'add' | 'update' | 'remove' | 'expire' | 'clear'
  readonly slot: Slot
  /** The value written (set, add, update). */
  readonly value?: string
  /** Expiry of the item written or changed, epoch ms; 0 = never. */
  readonly expiresAt?: number
  /** Grace of the item written, ms: how long past its expiry a stale read may still return it. */
  readonly grace?: number
  /** The item written is sliding with this TTL: each read extends it (0: not sliding). */
  readonly slidingTtl?: number
  /** When the store's reply to the call reached its instance (undefined: not, or lost). */
  heard?: number
  /**
   * A removal by a new tag stamp: the store still holds the item (judged by its mark), so an
   * expire after it still changes what a read that has not heard of the stamp may return.
   */
  readonly byTag?: boolean
}

/** A frame from one instance to another. `slots` is what it invalidates ('all' for a clear). */
export interface FrameRecord {
  readonly from: number
  readonly to: number
  readonly published: number
  readonly slots: ReadonlySet<Slot> | 'all'
  delivered?: number
}

/** A gap reported to an instance. */
export interface GapRecord {
  readonly instance: number
  readonly t: number
}

/** A new tag stamp the store took. */
export interface StampRecord {
  readonly stamp: number
  readonly t: number
}

/** An invariant that did not hold. */
export interface Violation {
  readonly invariant: string
  readonly message: string
}

/** One line of the timeline. */
export interface TimelineLine {
  readonly t: number
  readonly clock: number
  readonly text: string
}

/** The record of one history. */
export class Recorder {
  #t = 0
  /** Epoch ms when the history started (the model clock's 0). */
  readonly clockStart: number
  readonly lines: TimelineLine[] = []
  readonly ops: OpRecord[] = []
  readonly mutations: Mutation[] = []
  /** The store write of each value (values are unique per write). */
  readonly written = new Map<string, Mutation>()
  readonly frames: FrameRecord[] = []
  readonly gaps: GapRecord[] = []
  /** The mark (the tag's stamp its writer recorded) of every tagged value written. */
  readonly marks = new Map<string, number>()
  /** Every new stamp of the tag the store took, in order (before the first: 0, never invalidated). */
  readonly stamps: StampRecord[] = []
  /**
   * What a plain `get` of each slot must return once the history is quiet (every task run):
   * the value the store holds, unexpired and not invalidated by its tag, or undefined for a miss.
   * Set before the quiet reads (see `runner.ts`).
   */
  settled: ReadonlyMap<Slot, string | undefined> | undefined
  /** The id of the first of the quiet reads. */
  quietFrom: number | undefined
  /** Each instance's backplane delivers its frames behind its store writes (History.announceWithWrite). */
  announceWithWrite = false
  /** Instances whose store circuit was open when the quiet reads began: they miss by design. */
  circuitOpen: ReadonlySet<number> = new Set()
  readonly violations: Violation[] = []

  constructor(clockStart: number) {
    this.clockStart = clockStart
  }

  /** The current position on the timeline. */
  get now(): number {
    return this.#t
  }

  /** The model clock, ms since the history started. */
  get clock(): number {
    return Date.now() - this.clockStart
  }

  /** Appends a timeline line; returns its position. */
  log(text: string): number {
    this.#t++
    this.lines.push({ t: this.#t, clock: this.clock, text })
    return this.#t
  }

  /** Records a store change at the current position. */
  mutate(mutation: Omit<Mutation, 'seq' | 't'>): Mutation {
    const recorded = { ...mutation, seq: this.mutations.length + 1, t: this.#t }
    this.mutations.push(recorded)
    if (recorded.value !== undefined) this.written.set(recorded.value, recorded)
    return recorded
  }

  /** Records a violated invariant (and puts it on the timeline). */
  violate(invariant: string, message: string): void {
    this.violations.push({ invariant, message })
    this.log(`!! ${invariant}: ${message}`)
  }
}
