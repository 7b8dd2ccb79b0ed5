import { get } from 'node:http'

/** GETs a JSON document from a local HTTP endpoint (1 s timeout); rejects on any failure. */
export function getJson(url: string): Promise<unknown> {
  return new Promise((resolve, reject) => {
    const req = get(url, { timeout: 1_000 }, (res) => {
      let body = ''
      res.setEncoding('utf8')
      res.on('data', (chunk: string) => {
        body += chunk
      })
      res.on('end', () => {
        try {
          resolve(JSON.parse(body))
        } catch (error) {
          reject(error)
        }
      })
    })
    req.once('timeout', () => req.destroy(new Error(`GET ${url} timed out`)))
    req.once('error', reject)
  })
}
