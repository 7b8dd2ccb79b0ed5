/**
 * The metrics through `@opentelemetry/exporter-prometheus`, scraped over HTTP as Prometheus
 * would, and the Grafana dashboard in docs/ checked against that scrape: every panel's
 * query names metrics and labels the endpoint really serves.
 */
import { readFileSync } from 'node:fs'
import { createServer } from 'node:net'
import {
  type Backplane,
  type CacheHandle,
  CacheManager,
  createBackplaneHub,
  memoryBackplane,
} from '@cacheplane/core'
import { chaosBackplane, waitFor } from '@cacheplane/core/testing'
import { memoryHandle } from '@cacheplane/memory'
import { PrometheusExporter } from '@opentelemetry/exporter-prometheus'
import { MeterProvider } from '@opentelemetry/sdk-metrics'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { type CacheInstrumentation, cacheInstrumentation } from '../src/index.js'

const DASHBOARD = new URL('../../../docs/grafana/cacheplane-dashboard.json', import.meta.url)

let scrape: string
const closers: Array<() => Promise<void> | void> = []

/** A port nobody listens on right now. */
async function freePort(): Promise<number> {
  const server = createServer()
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const { port } = server.address() as { port: number }
  await new Promise<void>((resolve) => server.close(() => resolve()))
  return port
}

/** Traffic that gives every metric a sample: reads, writes, a remote invalidation, a gap. */
async function traffic(instrumentation: CacheInstrumentation): Promise<void> {
  const hub = createBackplaneHub()
  const store = memoryHandle({ name: 'store', distributed: true }) as CacheHandle<unknown>
  const chaos = chaosBackplane(memoryBackplane({ hub }))
  const make = (backplane: Backplane) =>
    new CacheManager<number>({
      name: 'orders',
      handles: [memoryHandle({ name: 'memory' }), store],
      shared: [store],
      backplane,
    })
  const writer = make(memoryBackplane({ hub }))
  const reader = make(chaos)
  closers.push(
    () => writer.close(),
    () => reader.close(),
  )
  instrumentation.instrument(reader)
  await Promise.all([writer.ready(), reader.ready()])
  const heard = new Promise<void>((resolve) => reader.on('frame', () => resolve()))
  await writer.set('k', 1)
  await heard
  await reader.get('k')
  await reader.get('k')
  chaos.emitGap({ reason: 'reconnect', recovered: false })
}

beforeAll(async () => {
  const port = await freePort()
  const exporter = new PrometheusExporter({ host: '127.0.0.1', port })
  const meterProvider = new MeterProvider({ readers: [exporter] })
  const instrumentation = cacheInstrumentation({ meterProvider, traces: false })
  closers.push(
    () => meterProvider.shutdown(),
    () => instrumentation.disable(),
  )
  await traffic(instrumentation)
  scrape = await waitFor(
    async () => {
      const text = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text()
      return text.includes('cacheplane_backplane_gaps') ? text : undefined
    },
    { message: 'the Prometheus endpoint to serve the gap counter' },
  )
})

afterAll(async () => {
  for (const close of closers.splice(0).reverse()) await close()
})

/** Sample names (`name` or `name{...}` at the start of a line) and label names the scrape serves. */
function served(): { metrics: Set<string>; labels: Set<string> } {
  const metrics = new Set<string>()
  const labels = new Set<string>()
  for (const line of scrape.split('\n')) {
    const match = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{([^}]*)\})? /.exec(line)
    if (match === null) continue
    metrics.add(match[1] as string)
    for (const label of (match[3] ?? '').matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)="/g))
      labels.add(label[1] as string)
  }
  return { metrics, labels }
}

describe('Prometheus', () => {
  it('serves every metric, with the cache name and no key', () => {
    const { metrics } = served()
    for (const name of [
      'cacheplane_handle_reads_total',
      'cacheplane_handle_writes_total',
      'cacheplane_handle_evictions_total',
      'cacheplane_handle_errors_total',
      'cacheplane_handle_circuit_state',
      'cacheplane_writes_unsettled',
      'cacheplane_backplane_frames_total',
      'cacheplane_backplane_invalidations_total',
      'cacheplane_backplane_frames_invalid_total',
      'cacheplane_backplane_publish_failures_total',
      'cacheplane_backplane_queue_overflows_total',
      'cacheplane_backplane_queue_depth',
      'cacheplane_backplane_connected',
      'cacheplane_backplane_gaps_total',
      'cacheplane_backplane_propagation_duration_bucket',
    ]) {
      expect(metrics, name).toContain(name)
    }
    expect(scrape).toMatch(/cacheplane_handle_reads_total\{[^}]*cacheplane_cache_name="orders"/)
    expect(scrape).toMatch(
      /cacheplane_backplane_invalidations_total\{[^}]*cacheplane_direction="received"[^}]*\} 1/,
    )
    expect(scrape).not.toMatch(/"k"/)
  })
})

/** Labels Prometheus itself adds (target labels at scrape time) or a histogram has per bucket. */
const SCRAPE_LABELS: ReadonlySet<string> = new Set(['instance', 'job', 'le'])

interface Panel {
  readonly title: string
  readonly type: string
  readonly targets?: ReadonlyArray<{ readonly expr: string }>
  readonly panels?: readonly Panel[]
}

/** Metric and label names a PromQL query refers to (functions, keywords and variables aside). */
function references(expr: string): { metrics: string[]; labels: string[] } {
  const labels: string[] = []
  // Label names: inside matchers `{a="x", b!~"y"}` and grouping clauses `by (a, b)`.
  for (const matcher of expr.matchAll(/\{([^}]*)\}/g)) {
    for (const label of (matcher[1] as string).matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)\s*(=~|!~|!=|=)/g))
      labels.push(label[1] as string)
  }
  for (const group of expr.matchAll(/\b(?:by|without)\s*\(([^)]*)\)/g)) {
    labels.push(
      ...(group[1] as string)
        .split(',')
        .map((label) => label.trim())
        .filter(Boolean),
    )
  }
  const stripped = expr
    .replace(/\{[^}]*\}/g, '')
    .replace(/\b(?:by|without)\s*\([^)]*\)/g, '')
    .replace(/\[[^\]]*\]/g, '')
  const metrics = [...stripped.matchAll(/\bcacheplane_[a-z0-9_]+\b/g)].map((m) => m[0])
  return { metrics, labels }
}

describe('the Grafana dashboard', () => {
  const dashboard = JSON.parse(readFileSync(DASHBOARD, 'utf8')) as {
    panels: Panel[]
    templating: { list: Array<{ name: string; query?: string | { query: string } }> }
  }
  const panels = dashboard.panels.flatMap((panel) => [panel, ...(panel.panels ?? [])])
  const graphs = panels.filter((panel) => panel.type !== 'row')

  it('shows hit ratio per level, propagation latency, gaps and queue depth', () => {
    const queries = graphs.flatMap((panel) => (panel.targets ?? []).map((target) => target.expr)).join('\n')
    expect(queries).toMatch(/cacheplane_handle_reads_total\{[^}]*cacheplane_read_result="hit"/)
    expect(queries).toContain('cacheplane_backplane_propagation_duration_bucket')
    expect(queries).toContain('cacheplane_backplane_gaps_total')
    expect(queries).toContain('cacheplane_backplane_queue_depth')
  })

  it('queries only metrics and labels the endpoint serves, in every panel', () => {
    const { metrics, labels } = served()
    expect(graphs.length).toBeGreaterThan(0)
    for (const panel of graphs) {
      const targets = panel.targets ?? []
      expect(targets.length, `panel '${panel.title}' has no query`).toBeGreaterThan(0)
      for (const { expr } of targets) {
        const refs = references(expr)
        expect(refs.metrics.length, `panel '${panel.title}': no metric in ${expr}`).toBeGreaterThan(0)
        for (const metric of refs.metrics) expect(metrics, `panel '${panel.title}'`).toContain(metric)
        for (const label of refs.labels) {
          if (!SCRAPE_LABELS.has(label)) expect(labels, `panel '${panel.title}'`).toContain(label)
        }
      }
    }
    for (const variable of dashboard.templating.list) {
      const query = typeof variable.query === 'string' ? variable.query : variable.query?.query
      if (query === undefined || !query.startsWith('label_values(')) continue
      const [metric, label] = query
        .slice('label_values('.length, -1)
        .split(',')
        .map((part) => part.trim())
      expect(metrics, `variable ${variable.name}`).toContain(metric)
      expect(labels, `variable ${variable.name}`).toContain(label)
    }
  })
})
