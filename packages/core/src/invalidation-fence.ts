/**
 * The read/invalidate fence. A read that misses the upper levels and finds the key
 * lower down copies the item up. If an invalidation for that key (a remote message,
 * a local write or remove, a clear, a gap) happens while that lower read is in
 * flight, the value read may be older than the invalidation, and copying it up would
 * re-insert a stale value that no later message will evict.
 *
 * Each read takes a ticket before it goes down; invalidations bump a per-key epoch
 * (only for keys that have a read in flight, so the map never grows beyond the reads
 * in flight) or the global epoch (clear, region clear, gap). The read copies up only
 * if its ticket is still current. A region clear bumps the global epoch too: it is
 * rare, and refusing a few copy-ups is cheaper than tracking regions.
 */

/** Per-key state while at least one read of the key is in flight. */
interface KeyEpoch {
  epoch: number
  readers: number
}

/** A read's snapshot of the epochs, taken before it went down. */
export interface FenceTicket {
  readonly id: string
  readonly entry: KeyEpoch
  readonly epoch: number
  readonly globalEpoch: number
}

/** Per-key generation counters for reads in flight, plus one global generation. */
export class InvalidationFence {
  readonly #keys = new Map<string, KeyEpoch>()
  #globalEpoch = 0

  /** Registers a read of `id` in flight; pair with {@link leave}. */
  enter(id: string): FenceTicket {
    let entry = this.#keys.get(id)
    if (entry === undefined) {
      entry = { epoch: 0, readers: 0 }
      this.#keys.set(id, entry)
    }
    entry.readers++
    return { id, entry, epoch: entry.epoch, globalEpoch: this.#globalEpoch }
  }

  /** True when no invalidation of the ticket's key happened since it was taken. */
  isCurrent(ticket: FenceTicket): boolean {
    return ticket.entry.epoch === ticket.epoch && this.#globalEpoch === ticket.globalEpoch
  }

  /** Ends a read; forgets the key when no read of it is left in flight. */
  leave(ticket: FenceTicket): void {
    if (--ticket.entry.readers === 0) this.#keys.delete(ticket.id)
  }

  /** Invalidates one key: reads of it in flight will not copy up. */
  invalidate(id: string): void {
    if (this.#keys.size === 0) return
    const entry = this.#keys.get(id)
    if (entry !== undefined) entry.epoch++
  }

  /** Invalidates everything (clear, region clear, gap): no read in flight will copy up. */
  invalidateAll(): void {
    this.#globalEpoch++
  }

  /** Keys with reads in flight (tests check that the fence does not grow). */
  get trackedKeys(): number {
    return this.#keys.size
  }
}
