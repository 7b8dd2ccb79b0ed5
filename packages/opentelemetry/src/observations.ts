/**
 * One collection's observations, summed per instrument and attribute set. Two managers
 * with the same cache name in one process (tests, or a process that builds one per
 * tenant with a shared name) report the same attributes; an observable instrument keeps
 * only the last value per attribute set, so they are added up here first.
 */
import type { Attributes, BatchObservableResult, Observable } from '@opentelemetry/api'

interface Entry {
  readonly instrument: Observable
  readonly attributes: Attributes
  value: number
}

/** Accumulates observations, then hands them to the SDK in one go. */
export class Observations {
  readonly #entries = new Map<Observable, Map<string, Entry>>()

  /** Adds `value` to the observation of `instrument` with `attributes`. */
  add(instrument: Observable, attributes: Attributes, value: number): void {
    let byAttributes = this.#entries.get(instrument)
    if (byAttributes === undefined) {
      byAttributes = new Map()
      this.#entries.set(instrument, byAttributes)
    }
    // Attribute objects are built in one fixed order by the callers, so this is a stable identity.
    const id = JSON.stringify(attributes)
    const entry = byAttributes.get(id)
    if (entry === undefined) byAttributes.set(id, { instrument, attributes, value })
    else entry.value += value
  }

  /** Reports every summed observation. */
  report(result: BatchObservableResult): void {
    for (const byAttributes of this.#entries.values()) {
      for (const { instrument, attributes, value } of byAttributes.values()) {
        result.observe(instrument, value, attributes)
      }
    }
  }
}
