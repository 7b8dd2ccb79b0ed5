/**
 * A failed history as something a person can read: the violated invariants, the history's
 * steps, and the timeline of what happened (position, model clock, event).
 */
import type { History, Step } from './history.js'
import { describeOp } from './operations.js'
import type { Recorder } from './record.js'

/** One step as text (instance numbers already reduced modulo the instance count). */
function describeStep(step: Step, instances: number, opId: () => number): string {
  switch (step.kind) {
    case 'op':
      return `i${step.instance % instances} ${describeOp(step.op, opId())}`
    case 'run':
      return `run task ${step.pick}`
    case 'fault':
      return `fault task ${step.pick}`
    case 'timeout':
      return `time out request ${step.pick}`
    case 'cut':
      return `cut i${step.instance % instances}${step.replay ? ' (replayed)' : ''}`
    case 'clock':
      return `clock +${step.ms}ms`
  }
}

/** The steps of a history, one per line. */
export function formatHistory(history: History): string {
  let ops = 0
  const lines = history.steps.map(
    (step, n) => `  ${String(n + 1).padStart(3)}. ${describeStep(step, history.instances, () => ++ops)}`,
  )
  const drain =
    history.drain.length === 0 ? 'oldest first' : `picks [${history.drain.join(', ')}], then oldest first`
  const connections = history.unordered
    ? 'unordered connections'
    : history.announceWithWrite === true
      ? 'ordered connections, frames behind the store writes'
      : 'ordered connections'
  return `${history.instances} instances, ${connections}, ${history.steps.length} steps:\n${lines.join('\n')}\n  drain: ${drain}`
}

/** The timeline of a recorded history. */
export function formatTimeline(record: Recorder): string {
  return record.lines
    .map(({ t, clock, text }) => `  t${String(t).padEnd(4)} ${`+${clock}ms`.padStart(8)}  ${text}`)
    .join('\n')
}

/** The violations, one per line. */
export function formatViolations(record: Recorder): string {
  return record.violations.map((v) => `  ${v.invariant}: ${v.message}`).join('\n')
}
