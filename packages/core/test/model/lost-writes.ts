/**
 * The invariants against lost writes. The staleness checks judge the values reads return; a
 * read that misses returns none, so a write that every instance then reads as a miss (with
 * nothing removing or invalidating it) broke none of them. Two invariants catch it:
 * - convergence: once the history is quiet (every task run, every frame delivered, every gap
 *   reported), a plain `get` or `getMany` on every instance returns what the store holds for
 *   the key, unexpired and not invalidated by its tag (`StoreModel.settled`), and nothing else;
 *   a `peek` returns that or a miss (an instance whose store circuit is open takes the store
 *   for down: its reads miss by design);
 * - marks: a tagged write records, as its tag's mark, a stamp the store held at some point
 *   before the write reached it (0 before the first). Any other mark ("unreadable", -1, which
 *   core records only for a stamp item that does not decode) equals no stamp the store will
 *   ever hold, so the item would be a miss everywhere until rewritten.
 */
import type { Recorder } from './record.js'

/** Every quiet read returns what the store holds once nothing is in flight (a peek may miss). */
function checkConverged(record: Recorder): void {
  const { settled, quietFrom } = record
  if (settled === undefined || quietFrom === undefined) return
  for (const read of record.ops.slice(quietFrom - 1)) {
    if (read.status !== 'ok' || record.circuitOpen.has(read.instance)) continue
    const op = read.op
    const values = op.kind === 'getMany' ? (read.result as unknown[]) : [read.result]
    const slots = op.kind === 'getMany' ? op.slots : op.kind === 'get' || op.kind === 'peek' ? [op.slot] : []
    slots.forEach((slot, i) => {
      const expected = settled.get(slot)
      const value = typeof values[i] === 'string' ? (values[i] as string) : undefined
      // A peek reads the memory level only: a miss there is no lost write.
      if (value === expected || (op.kind === 'peek' && value === undefined)) return
      record.violate(
        'convergence',
        `i${read.instance} #${read.id} ${op.kind} of ${slot} once quiet: ${value ?? 'a miss'}; ` +
          `the store holds ${expected ?? 'nothing it may serve'}`,
      )
    })
  }
}

/** The marks of the values the store took: each a stamp the store held before. */
function checkMarks(record: Recorder): void {
  for (const [value, mark] of record.marks) {
    const write = record.written.get(value)
    if (write === undefined) continue // an add the store refused
    if (mark === 0 || record.stamps.some((s) => s.stamp === mark && s.t < write.t)) continue
    record.violate(
      'marks',
      `i${write.instance} wrote ${value} to ${write.slot} with mark ${mark}, a stamp the store never held: ` +
        'it reads as a miss everywhere',
    )
  }
}

/** Checks the lost-write invariants on the record of a finished history. */
export function checkLostWrites(record: Recorder): void {
  checkMarks(record)
  checkConverged(record)
}
