import type { ExecutionResult, FormattedExecutionResult } from 'graphql';

/**
 * A `next` message's payload, serialized once per result object. Subscribers that share one
 * execution (shared-subscribe.ts) then share its bytes too: each socket's message adds only its
 * own id around them, instead of serializing the whole result again.
 *
 * graphql-ws serializes every message itself. Serialized, a SerializedPayload writes a
 * placeholder where it goes and keeps itself aside (toJSON: no replacer function, which
 * JSON.stringify would call for every key of every message); `withPayload`, in the socket's send,
 * puts the bytes there. graphql-ws sends each message as soon as it is serialized
 * (`socket.send(stringifyMessage(…))`), so nothing can run in between.
 */
export class SerializedPayload implements FormattedExecutionResult {
  /** Never set: graphql-ws takes this for a result; its bytes are the whole payload. */
  declare readonly data?: undefined;
  constructor(readonly bytes: Buffer) {}

  toJSON(): string {
    return setAside(this);
  }
}

const PLACEHOLDER = '\u0000payload';
const PLACEHOLDER_JSON = JSON.stringify(PLACEHOLDER);
const PLACEHOLDER_BYTES = Buffer.byteLength(PLACEHOLDER_JSON);
const serialized = new WeakMap<ExecutionResult, SerializedPayload>();
/** Set by toJSON, taken by the send that follows it. */
let pending: SerializedPayload | null = null;

function setAside(payload: SerializedPayload): string {
  pending = payload;
  return PLACEHOLDER;
}

/** The payload graphql-ws would send for `result` (one without errors), serialized once. */
export function serializedPayload(result: ExecutionResult): SerializedPayload {
  let payload = serialized.get(result);
  if (!payload) {
    payload = new SerializedPayload(Buffer.from(JSON.stringify(result)));
    serialized.set(result, payload);
  }
  return payload;
}

/** The message to write: `data` as serialized, with the set-aside payload in its place. */
export function withPayload(data: string): string | Buffer {
  const payload = pending;
  if (!payload) return data;
  pending = null;
  // The payload comes after the id, which a client chooses and could spell like the placeholder.
  const at = data.lastIndexOf(PLACEHOLDER_JSON);
  if (at < 0) throw new Error('a serialized payload was set aside for a message without its placeholder');
  const after = data.slice(at + PLACEHOLDER_JSON.length);
  // One allocation per message (each subscriber's has its own id).
  const before = Buffer.byteLength(data) - Buffer.byteLength(after) - PLACEHOLDER_BYTES;
  const message = Buffer.allocUnsafe(before + payload.bytes.length + Buffer.byteLength(after));
  message.write(data, 0, before);
  payload.bytes.copy(message, before);
  message.write(after, before + payload.bytes.length);
  return message;
}
