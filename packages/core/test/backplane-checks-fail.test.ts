// Every check of the Backplane conformance suite must be able to fail: each one is run
// against backplanes broken in one way (the in-process backplane with one behaviour
// changed) and must reject for at least one of them.
import { describe, expect, test } from 'vitest'
import { createBackplaneHub, memoryBackplane } from '../src/backplane/memory-backplane.js'
import type { Backplane, BackplaneListener, BackplaneSubscription } from '../src/contracts/backplane.js'
import { backplaneChecks } from '../src/testing/backplane-checks.js'
import { type ChaosBackplane, chaosBackplane } from '../src/testing/chaos-backplane.js'
import { backplaneSuiteContext, skipReason } from '../src/testing/describe-backplane.js'

/** A backplane whose connection the suite can break (`interrupt`) through its chaos wrapper. */
interface Broken extends Backplane {
  readonly chaos: ChaosBackplane
}

type Connect = (inner: ChaosBackplane, channel: string, listener: BackplaneListener) => BackplaneSubscription

/** Factories of in-process backplanes on one hub, with `change` applied to each. */
function broken(change: { connect?: () => Connect; maxFrameBytes?: number }): () => Backplane {
  const hub = createBackplaneHub()
  return (): Broken => {
    const chaos = chaosBackplane(memoryBackplane({ hub }))
    const connect = change.connect?.()
    return {
      name: chaos.name,
      capabilities: {
        ...chaos.capabilities,
        maxFrameBytes: change.maxFrameBytes ?? chaos.capabilities.maxFrameBytes,
      },
      connect: (channel, listener) => connect?.(chaos, channel, listener) ?? chaos.connect(channel, listener),
      close: () => chaos.close(),
      chaos,
    }
  }
}

/** A subscription that publishes through `publish` and closes through `close` instead. */
const subscription = (
  inner: BackplaneSubscription,
  changes: Partial<Pick<BackplaneSubscription, 'publish' | 'close'>>,
): BackplaneSubscription => ({
  ready: inner.ready,
  publish: changes.publish ?? ((frame) => inner.publish(frame)),
  close: changes.close ?? (() => inner.close()),
})

const hex = (frame: Uint8Array) => Buffer.from(frame).toString('hex')

/** The publisher's own frames never come back to it. */
const deafToItself = (): Connect => (inner, channel, listener) => {
  const mine = new Set<string>()
  const sub = inner.connect(channel, { ...listener, onFrame: (f) => mine.has(hex(f)) || listener.onFrame(f) })
  return subscription(sub, {
    publish: (frame) => {
      mine.add(hex(frame))
      return sub.publish(frame)
    },
  })
}

/** Every other frame is sent a little later, overtaken by the next one. */
const reordering = (): Connect => (inner, channel, listener) => {
  const sub = inner.connect(channel, listener)
  let n = 0
  return subscription(sub, {
    publish: async (frame) => {
      if (n++ % 2 === 0) setTimeout(() => void sub.publish(frame), 5)
      else await sub.publish(frame)
    },
  })
}

/** On one backplane a channel has one listener: a new subscription replaces the previous one. */
const lastListenerOnly = (): Connect => {
  const latest = new Map<string, object>()
  return (inner, channel, listener) => {
    const token = {}
    latest.set(channel, token)
    const sub = inner.connect(channel, {
      ...listener,
      onFrame: (f) => latest.get(channel) === token && listener.onFrame(f),
    })
    return subscription(sub, {
      close: () => {
        if (latest.get(channel) === token) latest.delete(channel)
        return sub.close()
      },
    })
  }
}

/** Only the first subscription of a backplane hears of gaps. */
const gapToFirstOnly = (): Connect => {
  let first = true
  return (inner, channel, listener) => {
    const hears = first
    first = false
    return inner.connect(channel, { ...listener, onGap: (gap) => hears && listener.onGap(gap) })
  }
}

interface Fault {
  readonly factory: () => Backplane
  readonly breaks: readonly string[]
}

const text = {
  decode: (f: Uint8Array) => new TextDecoder().decode(f),
  encode: (s: string) => new TextEncoder().encode(s),
}

const faults: Record<string, Fault> = {
  'no frame size declared': {
    factory: broken({ maxFrameBytes: 0 }),
    breaks: ['declares its capabilities'],
  },
  'the publisher does not hear itself': {
    factory: broken({ connect: deafToItself }),
    breaks: ['a published frame reaches every subscriber, the publisher included'],
  },
  'every channel is one channel': {
    factory: broken({ connect: () => (inner, _channel, listener) => inner.connect('everything', listener) }),
    breaks: ['channels are isolated', 'multiplex: one backplane routes each frame to its own channel only'],
  },
  'frames overtake each other': {
    factory: broken({ connect: reordering }),
    breaks: ['frames of one publisher arrive in order'],
  },
  'frames carried as text': {
    factory: broken({
      connect: () => (inner, channel, listener) => {
        const sub = inner.connect(channel, listener)
        return subscription(sub, { publish: (frame) => sub.publish(text.encode(text.decode(frame))) })
      },
    }),
    breaks: ['frames are binary safe'],
  },
  'close keeps listening': {
    factory: broken({
      connect: () => (inner, channel, listener) =>
        subscription(inner.connect(channel, listener), { close: async () => {} }),
    }),
    breaks: ['a closed subscription hears nothing more'],
  },
  'publish after close dropped silently': {
    factory: broken({
      connect: () => (inner, channel, listener) => {
        const sub = inner.connect(channel, listener)
        return subscription(sub, { publish: (frame) => sub.publish(frame).catch(() => {}) })
      },
    }),
    breaks: ['publish after close rejects'],
  },
  'closing one subscription closes the backplane': {
    factory: broken({
      connect: () => (inner, channel, listener) =>
        subscription(inner.connect(channel, listener), { close: () => inner.close() }),
    }),
    breaks: ['multiplex: closing one subscription leaves the others subscribed'],
  },
  'one listener per channel on a backplane': {
    factory: broken({ connect: lastListenerOnly }),
    breaks: ['multiplex: two subscriptions on one channel each get every frame'],
  },
  'a gap reaches the first subscription only': {
    factory: broken({ connect: gapToFirstOnly }),
    breaks: ['multiplex: a gap reaches every subscription of the backplane, which keeps delivering'],
  },
}

/** Runs one check as the suite would; resolves with its failure (undefined when it passed). */
async function failureOf(title: string, fault: Fault): Promise<unknown> {
  const check = backplaneChecks.find((c) => c.title === title)
  if (check === undefined) throw new Error(`no check is titled "${title}"`)
  const { context, finish } = backplaneSuiteContext(fault.factory, {
    deliveryTimeoutMs: 500,
    interrupt: (backplane) => (backplane as Broken).chaos.emitGap({ reason: 'interrupt' }),
  })
  try {
    const reason = await skipReason(context, check)
    if (reason !== undefined) throw new Error(`"${title}" does not run for this backplane: ${reason}`)
    await check.run(context)
    return undefined
  } catch (failure) {
    if (String(failure).includes('does not run for this backplane')) throw failure
    return failure
  } finally {
    await finish()
  }
}

describe('every backplane conformance check fails for a broken backplane', () => {
  test('each check is broken by at least one fault below', () => {
    const covered = new Set(Object.values(faults).flatMap((fault) => fault.breaks))
    expect(backplaneChecks.map((check) => check.title).filter((title) => !covered.has(title))).toEqual([])
  })

  for (const [name, fault] of Object.entries(faults)) {
    for (const title of fault.breaks) {
      test(`${name}: fails "${title}"`, async () => {
        expect(await failureOf(title, fault), 'the check passed for the broken backplane').toBeDefined()
      })
    }
  }
})
