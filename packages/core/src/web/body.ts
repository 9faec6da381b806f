import { acceptsBodyEncoding, formFields, webhookBodyType } from "../http.js";
import type { HttpErrorCode } from "../http-errors.js";

/** Why a body could not be read, as the code the HTTP contract answers with. */
export class BodyError extends Error {
  constructor(
    readonly code: Extract<
      HttpErrorCode,
      "INVALID_JSON" | "INVALID_BODY" | "PAYLOAD_TOO_LARGE" | "UNSUPPORTED_MEDIA_TYPE"
    >,
  ) {
    super(code);
    this.name = "BodyError";
  }
}

// body-parser's strict mode: a JSON body is an object or an array, led by `{` or `[`.
const FIRST_CHAR = /^[ \t\n\r]*([^ \t\n\r])/;

/**
 * Reads a JSON body as Express's router does (`express.json({ limit, type: "application/json" })`
 * behind its content-type and declared-length checks): only `application/json` in a UTF charset,
 * refused by its `Content-Length` before a byte is read, then counted while read and cut off at
 * `limit`, so no more than `limit` bytes are ever held. An empty body is `{}`.
 */
export async function readJson(request: Request, limit: number): Promise<unknown> {
  const [media = "", ...params] = (request.headers.get("content-type") ?? "").split(";");
  if (media.trim().toLowerCase() !== "application/json") {
    throw new BodyError("UNSUPPORTED_MEDIA_TYPE");
  }
  if (Number(request.headers.get("content-length") ?? 0) > limit) {
    throw new BodyError("PAYLOAD_TOO_LARGE");
  }
  const decoder = decoderFor(params);
  if (!acceptsBodyEncoding(request.headers.get("content-encoding"))) {
    throw new BodyError("UNSUPPORTED_MEDIA_TYPE");
  }
  const text = decoder.decode(await readBody(request, limit));
  if (text.length === 0) return {};
  const first = FIRST_CHAR.exec(text)?.[1];
  if (first !== "{" && first !== "[") throw new BodyError("INVALID_JSON");
  try {
    return JSON.parse(text) as unknown;
  } catch {
    throw new BodyError("INVALID_JSON");
  }
}

/** The decoder for the `charset` parameter: UTF-8 unless told, and only a UTF charset. */
function decoderFor(params: readonly string[]): InstanceType<typeof TextDecoder> {
  let charset = "utf-8";
  for (const param of params) {
    const index = param.indexOf("=");
    if (index < 0 || param.slice(0, index).trim().toLowerCase() !== "charset") continue;
    charset = param
      .slice(index + 1)
      .trim()
      .replace(/^"(.*)"$/, "$1")
      .toLowerCase();
  }
  if (!charset.startsWith("utf-")) throw new BodyError("UNSUPPORTED_MEDIA_TYPE");
  try {
    return new TextDecoder(charset);
  } catch {
    throw new BodyError("UNSUPPORTED_MEDIA_TYPE");
  }
}

/**
 * Reads a webhook body: JSON as `readJson` does, or a form (UTF-8, under the same limits) as
 * `formFields` reads it.
 */
export async function readWebhookBody(request: Request, limit: number): Promise<unknown> {
  if (webhookBodyType(request.headers.get("content-type")) !== "form") {
    return readJson(request, limit);
  }
  if (!acceptsBodyEncoding(request.headers.get("content-encoding"))) {
    throw new BodyError("UNSUPPORTED_MEDIA_TYPE");
  }
  if (Number(request.headers.get("content-length") ?? 0) > limit) {
    throw new BodyError("PAYLOAD_TOO_LARGE");
  }
  return formFields(new TextDecoder().decode(await readBody(request, limit)));
}

/**
 * The body's bytes, at most `limit` of them. A body of declared length (already checked against the
 * limit) is read whole, which servers bound by that length and which spares the platform building a
 * stream (`@hono/node-server` reads it straight from Node's request); any other body is read as a
 * stream and cut off at the limit. A request with no body at all is `UNSUPPORTED_MEDIA_TYPE`.
 */
async function readBody(request: Request, limit: number): Promise<Uint8Array> {
  if (!DECLARED_LENGTH.test(request.headers.get("content-length") ?? "")) {
    if (request.body === null) throw new BodyError("UNSUPPORTED_MEDIA_TYPE");
    return readAtMost(request.body, limit);
  }
  const bytes = new Uint8Array(
    await request.arrayBuffer().catch(() => {
      // The client went away mid-body: body-parser's `request.aborted`.
      throw new BodyError("INVALID_BODY");
    }),
  );
  // More bytes than declared (a platform that does not hold a body to its length): still refused.
  if (bytes.byteLength > limit) throw new BodyError("PAYLOAD_TOO_LARGE");
  return bytes;
}

const DECLARED_LENGTH = /^[0-9]{1,10}$/;

/** The stream's bytes, or `PAYLOAD_TOO_LARGE` as soon as they pass `limit` (the rest is never read). */
async function readAtMost(stream: ReadableStream<Uint8Array>, limit: number): Promise<Uint8Array> {
  const reader = stream.getReader();
  const chunks: Uint8Array[] = [];
  let total = 0;
  for (;;) {
    const next = await reader.read().catch(() => {
      // The client went away, or a compressed body was corrupt: body-parser's `request.aborted`.
      throw new BodyError("INVALID_BODY");
    });
    if (next.done) break;
    total += next.value.byteLength;
    if (total > limit) {
      reader.cancel().catch(() => {});
      throw new BodyError("PAYLOAD_TOO_LARGE");
    }
    chunks.push(next.value);
  }
  const bytes = new Uint8Array(total);
  let offset = 0;
  for (const chunk of chunks) {
    bytes.set(chunk, offset);
    offset += chunk.byteLength;
  }
  return bytes;
}
