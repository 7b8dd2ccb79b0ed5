import { InvalidOptionsError } from '@cacheplane/core'

// NATS subjects are dot-separated tokens of printable characters without
// whitespace, where `*` and `>` are wildcards. A channel name is free text, so it
// is escaped into one literal token: letters, digits, `-` and `_` stay, every
// other UTF-8 byte becomes `%HH`. The mapping is injective (`%` itself is
// escaped), so two distinct channels never share a subject.
const SUBJECT_SAFE = /^[A-Za-z0-9_-]$/
// Stream names also forbid `.`, `/`, `\` and are file names on disk, so they get a
// stricter alphabet with `_` as the escape character (and `_` itself escaped).
const STREAM_SAFE = /^[A-Za-z0-9-]$/

function escapeBytes(text: string, safe: RegExp, marker: string): string {
  let out = ''
  for (const char of text) {
    if (safe.test(char)) {
      out += char
      continue
    }
    for (const byte of new TextEncoder().encode(char)) {
      out += marker + byte.toString(16).toUpperCase().padStart(2, '0')
    }
  }
  return out
}

/** Throws unless `prefix` followed by a literal token forms a valid NATS subject. */
export function validateSubjectPrefix(prefix: string): void {
  const tokens = `${prefix}x`.split('.')
  const bad = tokens.some((token) => token === '' || /[\s*>]/.test(token))
  if (bad) {
    throw new InvalidOptionsError(
      `natsBackplane: prefix '${prefix}' is not a valid NATS subject prefix ` +
        `(no whitespace, no '*' or '>', no empty tokens such as '..' or a leading '.')`,
    )
  }
}

/** The NATS subject that carries `channel`: the prefix, then the channel escaped into one token. */
export function channelSubject(prefix: string, channel: string): string {
  if (channel === '') throw new InvalidOptionsError('natsBackplane: the channel name must not be empty')
  return prefix + escapeBytes(channel, SUBJECT_SAFE, '%')
}

/** The default JetStream stream name for a subject: distinct subjects give distinct names. */
export function defaultStreamName(subject: string): string {
  return `CACHEPLANE-${escapeBytes(subject, STREAM_SAFE, '_')}`
}

/** Throws unless `name` is usable as a JetStream stream name. */
export function validateStreamName(name: string): void {
  if (name === '' || /[\s.*>/\\]/.test(name)) {
    throw new InvalidOptionsError(
      `natsBackplane: replay.stream '${name}' is not a valid JetStream stream name ` +
        `(no whitespace, '.', '*', '>', '/' or '\\')`,
    )
  }
}
