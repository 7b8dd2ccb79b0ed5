/**
 * Load driven from the test process over IPC while a fault is injected: one writer making a key's
 * version grow, readers reading it, and the log the staleness checker needs.
 */
import type { Worker } from './harness.js'
import type { ProcessLog } from './checker.js'

/** Reads, writes and invalidations of one key, per worker. */
export class KeyLoad {
  private readonly writes = new Map<Worker, [number, number, number, number][]>()
  private readonly reads = new Map<Worker, [number, number, number][]>()
  private running = true
  private readonly loops: Promise<void>[] = []
  /** Highest version acknowledged so far. */
  lastAcked = 0

  constructor(
    private readonly key: string,
    private readonly workers: readonly Worker[],
  ) {
    for (const w of workers) {
      this.writes.set(w, [])
      this.reads.set(w, [])
    }
  }

  /** Starts `writer` writing versions 1, 2, ... and every reader reading, until {@link stop}. */
  start(writer: Worker, readers: readonly Worker[]): void {
    this.loops.push(this.writeLoop(writer), ...readers.map((reader) => this.readLoop(reader)))
  }

  /** Stops the loops and waits for them. */
  async stop(): Promise<void> {
    this.running = false
    await Promise.all(this.loops)
  }

  /** One more acknowledged write (after stop: the final value everyone must converge to). */
  async write(writer: Worker): Promise<number> {
    const version = this.lastAcked + 1
    // Taken before the call: the other processes may apply the write's message before its ack.
    const issuedAt = Date.now()
    const ackedAt = await writer.call({ op: 'set', key: this.key, value: { v: version, by: writer.name } })
    this.writes.get(writer)?.push([0, version, ackedAt, issuedAt])
    this.lastAcked = version
    return version
  }

  /** One read, logged; returns the version (0 = miss). */
  async read(reader: Worker): Promise<number> {
    const sent = Date.now()
    const read = await reader.call({ op: 'get', key: this.key })
    const version = read?.value.v ?? 0
    // A miss has no start time from the worker; the send time is earlier, which only makes the check laxer.
    this.reads.get(reader)?.push([0, version, read?.startedAt ?? sent])
    return version
  }

  /** Logs for the checker; invalidations come from the events each worker forwarded. */
  logs(): ProcessLog[] {
    return this.workers.map((w) => ({
      name: w.name,
      writes: this.writes.get(w) ?? [],
      reads: this.reads.get(w) ?? [],
      invalidations: w.events.flatMap((event): [number, number][] => {
        if (event.origin === 'remote' && event.key === this.key) return [[0, event.at]]
        if (event.origin === 'remote' && event.name === 'clear') return [[-1, event.at]]
        if (event.name === 'backplane' && event.detail === 'gap' && event.action === 'cleared') {
          return [[-1, event.at]]
        }
        return []
      }),
    }))
  }

  private async writeLoop(writer: Worker): Promise<void> {
    while (this.running) {
      // A write may fail while a server is down; the failure is the caller's, and is not a version.
      await this.write(writer).catch(() => pause(20))
    }
  }

  private async readLoop(reader: Worker): Promise<void> {
    while (this.running) {
      await this.read(reader).catch(() => pause(20))
      await pause(2)
    }
  }
}

/** A short pause between polls (never used to wait for an outcome). */
export function pause(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms))
}
