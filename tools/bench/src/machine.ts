import { readFileSync } from 'node:fs'
import { availableParallelism, cpus } from 'node:os'

/** CPU model (from /proc/cpuinfo where there is one) and core count. */
export function machineInfo(): { cpu: string; cores: number } {
  let cpu = cpus()[0]?.model ?? 'unknown CPU'
  try {
    const match = /^model name\s*:\s*(.+)$/m.exec(readFileSync('/proc/cpuinfo', 'utf8'))
    if (match?.[1] !== undefined) cpu = match[1].trim()
  } catch {
    // not Linux: os.cpus() named it
  }
  return { cpu, cores: availableParallelism() }
}
