/**
 * The harness has teeth: given a sync algorithm that is wrong on purpose, it reports the
 * violation (and, right, the same history is clean).
 */
import { describe, expect, it } from 'vitest'
import type { History, Step } from './history.js'
import { memoryStore, runHistory } from './index.js'

const run: Step = { kind: 'run', pick: 0 }
const set = (instance: number): Step => ({ kind: 'op', instance, op: { kind: 'set', slot: 'a', ttl: 0 } })

/** i1 caches s1; i0 sets s3; the frame to i1 is lost and i1 hears a gap; everyone reads. */
const lostFrame: History = {
  instances: 2,
  unordered: false,
  steps: [
    ...[set(0), run, run, run],
    ...[{ kind: 'op', instance: 1, op: { kind: 'get', slot: 'a' } } as Step, run, run],
    ...[set(0), run, run, { kind: 'cut', instance: 1, replay: false } as Step, run],
  ],
  drain: [],
  // Untagged: a gap drops the cached tag stamps whatever the policy, which would re-judge
  // i1's tagged copy from the store and hide the stale read this history plants.
  untagged: true,
}

describe('the model harness', () => {
  it('finds a stale read when a gap is ignored (gap policy "keep")', async () => {
    const record = await runHistory(lostFrame, memoryStore, { gapPolicy: 'keep' })
    // Both rounds of quiet reads return the value replaced, and the second (get, peek and
    // getMany) is judged against what the store holds as well (convergence).
    const replaced = 'but #3 set by i0 replaced it (store t12, resolved t15, known to i1 at t17)'
    expect(record.violations.map((v) => `${v.invariant}: ${v.message}`)).toEqual([
      'convergence: i1 #18 get of a once quiet: s1; the store holds s3',
      'convergence: i1 #21 peek of a once quiet: s1; the store holds s3',
      'convergence: i1 #24 getMany of a once quiet: s1; the store holds s3',
      `staleness: i1 #7 (t23) read a = s1, ${replaced}`,
      `staleness: i1 #18 (t49) read a = s1, ${replaced}`,
      `staleness: i1 #21 (t52) read a = s1, ${replaced}`,
      `staleness: i1 #24 (t55) read a = s1, ${replaced}`,
    ])
  })

  it('finds nothing in the same history with the default gap policy', async () => {
    const record = await runHistory(lostFrame, memoryStore)
    expect(record.violations).toEqual([])
  })
})

describe('the quiet reads', () => {
  it('are not held to the store on an instance whose circuit is open (it takes the store for down)', async () => {
    // i0 writes a (and its frame reaches i1); i1's reads of a are refused five times in a row,
    // which opens its circuit.
    // Its quiet reads then fail fast and miss: no convergence violation.
    const refusedRead: Step[] = [
      { kind: 'op', instance: 1, op: { kind: 'get', slot: 'a' } },
      { kind: 'fault', pick: 0 },
    ]
    const history: History = {
      instances: 2,
      unordered: false,
      steps: [set(0), run, run, run, run, run, ...Array.from({ length: 5 }, () => refusedRead).flat()],
      drain: [],
    }
    const record = await runHistory(history, memoryStore)
    expect([...record.circuitOpen]).toEqual([1])
    expect(record.ops.filter((op) => op.instance === 1 && op.status === 'error')).toHaveLength(0)
    expect(record.violations).toEqual([])
  })
})

describe('frames behind the store writes (Backplane.ordersAfter)', () => {
  // i0 sets a (its tag stamp read first); the frame travels behind the SET on i0's request
  // connection, is published once the SET ran, and reaches i1 before i0 hears the store's
  // reply; i1 then reads a.
  const announced: History = {
    instances: 2,
    unordered: false,
    announceWithWrite: true,
    steps: [
      ...[set(0), run, run, run, run, { kind: 'run', pick: 1 } as Step],
      { kind: 'op', instance: 1, op: { kind: 'get', slot: 'a' } },
    ],
    drain: [],
  }

  it("delivers a set's frame before its writer hears the reply, and the reader finds the new value", async () => {
    const record = await runHistory(announced, memoryStore)
    const texts = record.lines.map((line) => line.text)
    const at = (pattern: RegExp) => texts.findIndex((text) => pattern.test(text))
    expect(at(/^i0 publishes \[set a\]/)).toBeGreaterThan(at(/store\.set\(a.*executes/))
    expect(at(/^i1 receives i0's \[set a\]/)).toBeGreaterThan(-1)
    expect(at(/^i1 receives i0's \[set a\]/)).toBeLessThan(at(/^i0 #1 hears store\.set/))
    expect(record.ops[1]).toMatchObject({ instance: 1, status: 'ok', result: 's1' })
    expect(record.violations).toEqual([])
  })
})
