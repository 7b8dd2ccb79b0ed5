import { describe, expect, it } from 'vitest'
import { CircuitBreaker } from '../src/circuit-breaker.js'

describe('CircuitBreaker', () => {
  it('opens after the threshold, lets one probe through after resetAfterMs, and closes on success', () => {
    let now = 0
    const breaker = new CircuitBreaker({ failureThreshold: 2, resetAfterMs: 100 }, () => now)
    expect(breaker.allow()).toBe(true)
    breaker.failure()
    expect(breaker.state).toBe('closed')
    breaker.failure()
    expect(breaker.state).toBe('open')
    expect(breaker.allow()).toBe(false)
    now = 100
    expect(breaker.allow()).toBe(true) // the probe
    expect(breaker.state).toBe('half-open')
    expect(breaker.allow()).toBe(false) // only one probe
    breaker.failure()
    expect(breaker.state).toBe('open')
    now = 150
    expect(breaker.allow()).toBe(false)
    now = 200
    expect(breaker.allow()).toBe(true)
    breaker.success()
    expect(breaker.state).toBe('closed')
    expect(breaker.allow()).toBe(true)
  })

  it('replaces a probe that never settles after another resetAfterMs', () => {
    let now = 0
    const breaker = new CircuitBreaker({ failureThreshold: 1, resetAfterMs: 100 }, () => now)
    breaker.failure()
    now = 100
    expect(breaker.allow()).toBe(true) // probe hangs forever
    now = 150
    expect(breaker.allow()).toBe(false)
    now = 200
    expect(breaker.allow()).toBe(true)
  })

  it('a success resets the consecutive failure count', () => {
    const breaker = new CircuitBreaker({ failureThreshold: 2, resetAfterMs: 100 }, () => 0)
    breaker.failure()
    breaker.success()
    breaker.failure()
    expect(breaker.state).toBe('closed')
  })
})
