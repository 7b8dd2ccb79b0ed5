import { accessSync, constants } from 'node:fs'
import { delimiter, join } from 'node:path'

// Debian puts nats-server in /usr/sbin, which is not on every user's PATH.
const extraDirectories = ['/usr/local/sbin', '/usr/local/bin', '/usr/sbin', '/usr/bin', '/sbin', '/bin']

/** The absolute path of an executable on PATH (or in the sbin directories), or undefined. */
export function findBinary(name: string): string | undefined {
  const directories = [...(process.env.PATH ?? '').split(delimiter), ...extraDirectories]
  for (const directory of directories) {
    if (directory === '') continue
    const candidate = join(directory, name)
    try {
      accessSync(candidate, constants.X_OK)
      return candidate
    } catch {
      // not here; keep looking
    }
  }
  return undefined
}
