/**
 * The read/invalidate fence. A read that misses the upper levels and finds the key
 * lower down copies the item up. If an invalidation for that key (a remote message,
 * a local write or remove, a clear, a gap) happens while that lower read is in
 * flight, the value read may be older than the invalidation, and copying it up would
 * re-insert a stale value that no later message will evict.
 *
 * Each read takes a ticket before it goes down; an invalidation marks the tickets of
 * its key stale (only keys that have a read in flight are tracked, so the map never
 * grows beyond the reads in flight) or bumps the global epoch (clear, region clear,
 * gap). The read copies up only if its ticket is still current. A region clear bumps the global epoch too: it is
 * rare, and refusing a few copy-ups is cheaper than tracking regions.
 */

/**
 * A read's registration, taken before it went down. The tickets of one key form a
 * linked list whose head the fence's map holds, so a read allocates this one object
 * (a separate per-key epoch object plus a snapshot ticket was two per read, measurable in
 * a distributed-hit get's garbage collection); an invalidation of the key marks every
 * ticket in its list stale, which only lists the reads in flight.
 */
export class FenceTicket {
  /** An invalidation of the key happened since the ticket was taken. */
  stale = false
  prev: FenceTicket | undefined = undefined
  next: FenceTicket | undefined = undefined

  constructor(
    /** The key id (`keyId(key, region)`). */
    readonly id: string,
    /** The global epoch when the ticket was taken. */
    readonly globalEpoch: number,
    /** The clear epoch when the ticket was taken. */
    readonly clearEpoch: number,
  ) {}
}

/**
 * The tickets of the reads in flight per key, plus two global generations: every clear,
 * gap or tag invalidation bumps the global epoch (a read in flight may carry any key or
 * tag); clears and gaps alone bump the clear epoch, which {@link keyCurrent} checks.
 */
export class InvalidationFence {
  readonly #keys = new Map<string, FenceTicket>()
  #globalEpoch = 0
  #clearEpoch = 0

  /** Registers a read of `id` in flight; pair with {@link leave}. */
  enter(id: string): FenceTicket {
    const ticket = new FenceTicket(id, this.#globalEpoch, this.#clearEpoch)
    const head = this.#keys.get(id)
    if (head !== undefined) {
      ticket.next = head
      head.prev = ticket
    }
    this.#keys.set(id, ticket)
    return ticket
  }

  /** True when no invalidation of the ticket's key happened since it was taken. */
  isCurrent(ticket: FenceTicket): boolean {
    return !ticket.stale && this.#globalEpoch === ticket.globalEpoch
  }

  /**
   * True when neither the ticket's key was invalidated nor anything cleared since it was
   * taken; a tag invalidation does not count. For a getOrAdd factory's result, which is
   * judged by the tag marks read before the factory ran (see `fail-safe-loader.ts`).
   */
  keyCurrent(ticket: FenceTicket): boolean {
    return !ticket.stale && this.#clearEpoch === ticket.clearEpoch
  }

  /** Ends a read; forgets the key when no read of it is left in flight. */
  leave(ticket: FenceTicket): void {
    const { prev, next } = ticket
    if (prev !== undefined) prev.next = next
    else if (this.#keys.get(ticket.id) === ticket) {
      if (next === undefined) this.#keys.delete(ticket.id)
      else this.#keys.set(ticket.id, next)
    }
    if (next !== undefined) next.prev = prev
    ticket.prev = undefined
    ticket.next = undefined
  }

  /** Invalidates one key: reads of it in flight will not copy up. */
  invalidate(id: string): void {
    if (this.#keys.size === 0) return
    for (let ticket = this.#keys.get(id); ticket !== undefined; ticket = ticket.next) ticket.stale = true
  }

  /** Invalidates everything (clear, region clear, gap): no read in flight will copy up. */
  invalidateAll(): void {
    this.#globalEpoch++
    this.#clearEpoch++
  }

  /** A tag's stamp changed: no read in flight will copy up (it may carry the tag); see {@link keyCurrent}. */
  invalidateTagged(): void {
    this.#globalEpoch++
  }

  /** Keys with reads in flight (tests check that the fence does not grow). */
  get trackedKeys(): number {
    return this.#keys.size
  }
}
