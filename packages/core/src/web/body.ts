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
  if (request.body === null || media.trim().toLowerCase() !== "application/json") {
    throw new BodyError("UNSUPPORTED_MEDIA_TYPE");
  }
  if (Number(request.headers.get("content-length") ?? 0) > limit) {
    throw new BodyError("PAYLOAD_TOO_LARGE");
  }
  const decoder = decoderFor(params);
  if (!acceptsBodyEncoding(request.headers.get("content-encoding"))) {
    throw new BodyError("UNSUPPORTED_MEDIA_TYPE");
  }
  const text = decoder.decode(await readAtMost(request.body, limit));
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
  if (request.body === null || !acceptsBodyEncoding(request.headers.get("content-encoding"))) {
    throw new BodyError("UNSUPPORTED_MEDIA_TYPE");
  }
  if (Number(request.headers.get("content-length") ?? 0) > limit) {
    throw new BodyError("PAYLOAD_TOO_LARGE");
  }
  return formFields(new TextDecoder().decode(await readAtMost(request.body, limit)));
}

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
