// The bytes tags add: the tagInvalidated backplane message and the tag header of a tagged
// item in a bytes store. Old frames and untagged items must read as before.
import { describe, expect, it } from 'vitest'
import { decodeFrame, encodeFrame } from '../src/backplane/frame-codec.js'
import type { BackplaneMessage } from '../src/backplane/messages.js'
import { FrameInvalidError, ItemCorruptError } from '../src/errors.js'
import { jsonSerializer } from '../src/serializers.js'
import {
  checkTags,
  decodeTaggedBytes,
  encodeTaggedBytes,
  isTaggedBytes,
  MAX_TAGS,
  TaggedValue,
} from '../src/tags.js'

const SENDER = '0123456789abcdef0123456789abcdef'

describe('the tagInvalidated message', () => {
  it('round-trips next to the older kinds, unicode tags included', () => {
    const messages: BackplaneMessage[] = [
      { type: 'removed', key: 'k', region: undefined },
      { type: 'tagInvalidated', tag: 'user:42', stamp: 123456789 },
      { type: 'tagInvalidated', tag: 'é🙂', stamp: 2 ** 48 - 2 },
      { type: 'cleared' },
    ]
    expect(decodeFrame(encodeFrame({ senderId: SENDER, messages })).messages).toEqual(messages)
  })

  it('a truncated or non-finite stamp is a FrameInvalidError', () => {
    const bytes = encodeFrame({
      senderId: SENDER,
      messages: [{ type: 'tagInvalidated', tag: 't', stamp: 7 }],
    })
    expect(() => decodeFrame(bytes.subarray(0, bytes.length - 1))).toThrow(FrameInvalidError)
    const nan = bytes.slice()
    new DataView(nan.buffer).setFloat64(nan.length - 8, Number.NaN, true)
    expect(() => decodeFrame(nan)).toThrow(FrameInvalidError)
    expect(() =>
      encodeFrame({ senderId: SENDER, messages: [{ type: 'tagInvalidated', tag: 't', stamp: Infinity }] }),
    ).toThrow(FrameInvalidError)
  })
})

describe('tagged item bytes', () => {
  it('round-trip tags, marks and the serializer bytes; untagged bytes are not mistaken for tagged', () => {
    const inner = jsonSerializer.serialize({ a: 1 })
    expect(isTaggedBytes(inner)).toBe(false)
    const bytes = encodeTaggedBytes(new TaggedValue(undefined, ['t', 'ü'], [0, 42]), inner)
    expect(isTaggedBytes(bytes)).toBe(true)
    const decoded = decodeTaggedBytes(bytes)
    expect(decoded.tags).toEqual(['t', 'ü'])
    expect(decoded.marks).toEqual([0, 42])
    expect(jsonSerializer.deserialize(decoded.inner)).toEqual({ a: 1 })
  })

  it('malformed headers are ItemCorruptError', () => {
    const bytes = encodeTaggedBytes(new TaggedValue(undefined, ['tag'], [1]), jsonSerializer.serialize(1))
    expect(() => decodeTaggedBytes(bytes.subarray(0, 8))).toThrow(ItemCorruptError)
    const badFormat = bytes.slice()
    badFormat[3] = 9
    expect(() => decodeTaggedBytes(badFormat)).toThrow(ItemCorruptError)
    const noTags = bytes.slice()
    noTags[4] = 0
    expect(() => decodeTaggedBytes(noTags)).toThrow(ItemCorruptError)
  })

  it('checkTags deduplicates and bounds', () => {
    expect(checkTags(['a', 'a', 'b'])).toEqual(['a', 'b'])
    expect(checkTags([])).toBeUndefined()
    expect(() => checkTags(Array.from({ length: MAX_TAGS + 1 }, (_, i) => `${i}`))).toThrow(/maximum is 64/)
  })
})
