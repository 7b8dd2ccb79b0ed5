import { createServer } from 'node:net'
import { waitFor } from '@cacheplane/core/testing'
import { expect, test } from 'vitest'
import { ordersCache, startTelemetry } from '../examples/opentelemetry/sdk-node.js'

/** A port nobody listens on right now. */
async function freePort(): Promise<number> {
  const server = createServer()
  await new Promise<void>((resolve) => server.listen(0, resolve))
  const { port } = server.address() as { port: number }
  await new Promise<void>((resolve) => server.close(() => resolve()))
  return port
}

test('sdk-node: spans exported, metrics scraped from the Prometheus endpoint', async () => {
  const port = await freePort()
  const { sdk, spans, instrumentation } = startTelemetry(port)
  const orders = ordersCache(instrumentation)
  try {
    await orders.set('o-1', { total: 42 })
    await orders.get('o-1') // a memory hit: counted by the metrics, no span by default (topHits)
    await orders.get('o-2') // a miss: a span
    // The SDK's resource is detected asynchronously: spans are exported once it is known.
    const names = await waitFor(() => {
      const finished = spans.getFinishedSpans().map((span) => span.name)
      return finished.length === 2 ? finished : undefined
    })
    expect(names).toEqual(['cache.set', 'cache.get'])
    const scrape = await (await fetch(`http://localhost:${port}/metrics`)).text()
    expect(scrape).toMatch(
      /cacheplane_handle_reads_total\{[^}]*cacheplane_cache_name="orders"[^}]*cacheplane_read_result="hit"[^}]*\} 1/,
    )
    expect(scrape).toMatch(/cacheplane_handle_writes_total\{[^}]*cacheplane_write_kind="set"[^}]*\} 1/)
  } finally {
    instrumentation.disable()
    await orders.close()
    await sdk.shutdown()
  }
})
