/**
 * The Backplane conformance suite. Every transport runs it from a short test file:
 *
 *   describeBackplane('redisBackplane', () => redisBackplane({ url }))
 *
 * `factory` must return a new backplane on the same server each call (several backplanes
 * play several application instances). Each test uses a random channel, so suites can
 * share a server. A backplane that declares `multiplex` also runs the multi-cache slice: one
 * backplane object holding a subscription per channel, as every cache of an instance would.
 */
import { afterEach, describe, test } from 'vitest'
import type {
  Backplane,
  BackplaneGap,
  BackplaneState,
  BackplaneSubscription,
} from '../contracts/backplane.js'
import type { MaybePromise } from '../contracts/cache-handle.js'
import { type BackplaneCheck, backplaneChecks, heard } from './backplane-checks.js'
import { waitFor } from './wait-for.js'

/** Options of {@link describeBackplane}. */
export interface DescribeBackplaneOptions {
  /** How long a frame may take to arrive, ms. Default 5,000. */
  readonly deliveryTimeoutMs?: number
  /** Runs after each test, after its backplanes were closed. */
  readonly cleanup?: () => MaybePromise<void>
  /**
   * Breaks `backplane`'s connection so that it must resubscribe and report a gap (kill its
   * connection on the server, force a reconnect). Without it the "a gap reaches every
   * subscription" test is skipped, visibly.
   */
  readonly interrupt?: (backplane: Backplane) => MaybePromise<void>
}

/** One subscription (one cache) and everything it heard. */
export interface Peer {
  readonly backplane: Backplane
  readonly subscription: BackplaneSubscription
  readonly frames: Uint8Array[]
  readonly gaps: BackplaneGap[]
  readonly states: BackplaneState[]
  closed: boolean
}

/** What a backplane check reaches: peers on backplanes of the factory, and delivery deadlines. */
export interface BackplaneSuiteContext {
  /** Subscribes to `channel` on `on`, or on a new backplane (another application instance). */
  connect(channel: string, on?: Backplane): Promise<Peer>
  /** A new backplane of the factory, closed after the test. */
  instance(): Promise<Backplane>
  /** Closes the peer's subscription. */
  close(peer: Peer): Promise<void>
  /** Waits until `peer` received `frame`. */
  delivered(peer: Peer, frame: Uint8Array, what: string): Promise<unknown>
  readonly timeoutMs: number
  readonly options: DescribeBackplaneOptions
}

/** Registers the Backplane conformance suite for backplanes made by `factory`. */
export function describeBackplane(
  name: string,
  factory: () => MaybePromise<Backplane>,
  options: DescribeBackplaneOptions = {},
): void {
  const suite = backplaneSuiteContext(factory, options)
  describe(name, () => {
    afterEach(suite.finish)
    for (const check of backplaneChecks) registerCheck(suite.context, check)
  })
}

/**
 * A check that needs what the backplane or the options do not give is skipped, visibly,
 * with its reason: the capability is only known once a backplane exists.
 */
function registerCheck(context: BackplaneSuiteContext, check: BackplaneCheck): void {
  test(check.title, async (t) => {
    const reason = await skipReason(context, check)
    if (reason !== undefined) {
      t.skip(reason)
      return
    }
    await check.run(context)
  })
}

/** Why `check` does not apply to the backplanes of the suite, or undefined when it runs. */
export async function skipReason(
  context: BackplaneSuiteContext,
  check: BackplaneCheck,
): Promise<string | undefined> {
  if (check.needs === undefined) return undefined
  const probe = await context.instance()
  if (!probe.capabilities.multiplex)
    return 'the backplane does not multiplex (capabilities.multiplex is false)'
  if (check.needs === 'interrupt' && context.options.interrupt === undefined)
    return 'no `interrupt` option: the suite cannot break the connection'
  return undefined
}

/**
 * The context checks run in, and `finish`, which closes every backplane of the test. The
 * suite runs `finish` as a vitest hook; core's own tests call it around single checks.
 */
export function backplaneSuiteContext(
  factory: () => MaybePromise<Backplane>,
  options: DescribeBackplaneOptions = {},
): { context: BackplaneSuiteContext; finish(): Promise<void> } {
  const timeoutMs = options.deliveryTimeoutMs ?? 5_000
  let backplanes: Backplane[] = []

  const instance = async (): Promise<Backplane> => {
    const backplane = await factory()
    backplanes.push(backplane)
    return backplane
  }
  const connect = async (channel: string, on?: Backplane): Promise<Peer> => {
    const backplane = on ?? (await instance())
    const frames: Uint8Array[] = []
    const gaps: BackplaneGap[] = []
    const states: BackplaneState[] = []
    const subscription = backplane.connect(channel, {
      onFrame: (frame) => frames.push(frame),
      onGap: (gap) => gaps.push(gap),
      onState: (state) => states.push(state),
    })
    await subscription.ready
    return { backplane, subscription, frames, gaps, states, closed: false }
  }
  const close = async (peer: Peer): Promise<void> => {
    peer.closed = true
    await peer.subscription.close()
  }
  const delivered = (peer: Peer, frame: Uint8Array, what: string) =>
    waitFor(() => heard(peer, frame), { timeoutMs, message: what })
  const finish = async () => {
    const open = backplanes
    backplanes = []
    for (const backplane of open) await backplane.close()
    await options.cleanup?.()
  }
  return { context: { connect, instance, close, delivered, timeoutMs, options }, finish }
}
