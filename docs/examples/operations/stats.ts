import type { CacheManager, CacheStats } from '@cacheplane/core'

/** Conditions worth a page or a ticket, from two `stats()` snapshots taken `seconds` apart. */
export function alerts(before: CacheStats, after: CacheStats, seconds: number): string[] {
  const found: string[] = []
  for (const [name, now] of Object.entries(after.handles)) {
    const then = before.handles[name]
    if (then === undefined) continue
    if (now.circuit !== 'closed') found.push(`${name}: circuit ${now.circuit}`)
    const errorsPerSecond = (now.errors - then.errors) / seconds
    if (errorsPerSecond > 1) found.push(`${name}: ${errorsPerSecond.toFixed(1)} errors/s`)
  }
  const [bp, bp0] = [after.backplane, before.backplane]
  if (bp !== undefined && bp0 !== undefined) {
    if (!bp.connected) found.push('backplane: disconnected')
    if (bp.gaps > bp0.gaps) found.push(`backplane: ${bp.gaps - bp0.gaps} gap(s)`)
    if (bp.overflows > bp0.overflows) found.push('backplane: queue overflowed (remote caches cleared)')
    if (bp.publishFailures > bp0.publishFailures) found.push('backplane: publishes failing')
    if (bp.droppedInvalid > bp0.droppedInvalid) found.push('backplane: invalid or forged frames')
  }
  return found
}

/** Hit ratio of one handle since `before`. */
export function hitRatio(before: CacheStats, after: CacheStats, handle: string): number | undefined {
  const [then, now] = [before.handles[handle], after.handles[handle]]
  if (then === undefined || now === undefined) return undefined
  const hits = now.hits - then.hits
  const reads = hits + now.misses - then.misses
  return reads === 0 ? undefined : hits / reads
}

/** Samples `cache.stats()` every `seconds` and hands alerts to `notify`; returns the stop function. */
export function watchStats(cache: CacheManager, seconds: number, notify: (alert: string) => void) {
  let previous = cache.stats()
  const timer = setInterval(() => {
    const current = cache.stats()
    for (const alert of alerts(previous, current, seconds)) notify(alert)
    previous = current
  }, seconds * 1000)
  timer.unref()
  return () => clearInterval(timer)
}
