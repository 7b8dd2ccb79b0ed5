import { randomUUID } from 'node:crypto'
import { Backoff, InvalidOptionsError } from '@cacheplane/core'
import type { JetStreamManager, StreamInfo } from '@nats-io/jetstream'
import type { ReplaySettings } from './nats-options.js'

/** The `@nats-io/jetstream` module, loaded on demand (it is an optional peer dependency). */
export type JetStreamModule = typeof import('@nats-io/jetstream')

/** Backoff between JetStream retries, ms: a leader election takes seconds, so retry often but not in a spin. */
export const JETSTREAM_BACKOFF = { baseDelayMs: 100, maxDelayMs: 2_000 }

/**
 * Runs `task`, retrying failures for up to `timeoutMs`: a JetStream cluster that just
 * started or is electing a leader times requests out for a few seconds. Errors for which
 * `fatal` is true (configuration mistakes) are thrown at once.
 */
export async function retryWithin<T>(
  timeoutMs: number,
  task: () => Promise<T>,
  fatal: (err: unknown) => boolean,
): Promise<T> {
  const deadline = Date.now() + timeoutMs
  const backoff = new Backoff(JETSTREAM_BACKOFF)
  for (;;) {
    try {
      return await task()
    } catch (err) {
      if (fatal(err) || Date.now() >= deadline) throw err
      await backoff.wait()
    }
  }
}

function isStreamNotFound(err: unknown): boolean {
  return err instanceof Error && (err.name === 'StreamNotFoundError' || err.message === 'stream not found')
}

/**
 * What tells one incarnation of the stream from the next: a random id we put in its
 * description when we create it. (The `created` time is not usable: in a cluster each
 * replica reports its own, so it changes when the stream leader does.) A stream created
 * by hand without a description is recognised only by its sequences going backwards.
 */
export function streamIdentity(info: StreamInfo): string {
  return info.config.description ?? ''
}

/** The stream's info, or null when it does not exist. */
export async function streamInfo(jsm: JetStreamManager, name: string): Promise<StreamInfo | null> {
  try {
    return await jsm.streams.info(name)
  } catch (err) {
    if (isStreamNotFound(err)) return null
    throw err
  }
}

/**
 * Creates the stream, or aligns an existing one with our retention: idempotent and safe
 * to race between instances. The stream must hold only `subject`, so that its sequences
 * are contiguous for the channel and a jump means frames were lost.
 */
export async function ensureStream(
  mod: JetStreamModule,
  jsm: JetStreamManager,
  subject: string,
  settings: ReplaySettings,
): Promise<StreamInfo> {
  const { stream: name, maxAgeMs, storage, replicas } = settings
  const maxAge = maxAgeMs * 1_000_000
  const existing = await streamInfo(jsm, name)
  if (existing === null) {
    try {
      return await jsm.streams.add({
        name,
        description: `cacheplane invalidations ${randomUUID()}`,
        subjects: [subject],
        max_age: maxAge,
        storage: storage === 'memory' ? mod.StorageType.Memory : mod.StorageType.File,
        num_replicas: replicas,
        retention: mod.RetentionPolicy.Limits,
        discard: mod.DiscardPolicy.Old,
      })
    } catch (err) {
      // Another instance created it first (possibly with other settings): use theirs.
      const raced = await streamInfo(jsm, name)
      if (raced === null) throw err
      return checkSubjects(raced, subject)
    }
  }
  checkSubjects(existing, subject)
  if (existing.config.max_age === maxAge) return existing
  return await jsm.streams.update(name, { ...existing.config, max_age: maxAge })
}

function checkSubjects(info: StreamInfo, subject: string): StreamInfo {
  const subjects = info.config.subjects ?? []
  if (subjects.length !== 1 || subjects[0] !== subject) {
    throw new InvalidOptionsError(
      `natsBackplane: JetStream stream '${info.config.name}' holds subjects [${subjects.join(', ')}], ` +
        `not only '${subject}'; give each cache its own replay.stream (or leave it unset)`,
    )
  }
  return info
}
