/** `host:port` out of the URLs the global setup provides. */
import type { Address } from './worker/topology.js'

/** The first `host:port` of `redis://h:p`, `nats://h:p`, `h:p` or `h:p,h2:p2`. */
export function addressOf(url: string): Address {
  const first =
    url
      .split(',')[0]
      ?.trim()
      .replace(/^[a-z]+:\/\//i, '') ?? ''
  const match = /^([^:]+):(\d+)$/.exec(first)
  if (match === null) throw new Error(`integration: cannot read host:port from '${url}'`)
  return { host: match[1] as string, port: Number(match[2]) }
}
