import type { HttpAnswer, HttpOk } from "../http.js";

/**
 * A JSON `Response` as Express's `res.json` writes it: the status, the answer's headers, and the
 * headers gathered while handling (`Set-Cookie`). A HEAD request gets the headers only.
 */
export function jsonResponse(
  status: number,
  body: unknown,
  headers: Headers = new Headers(),
  head = false,
): Response {
  headers.set("Content-Type", "application/json; charset=utf-8");
  return new Response(head ? null : JSON.stringify(body), { status, headers });
}

/** An answer of the core's HTTP contract (`errorAnswer`, `thrownAnswer`, ...) as a `Response`. */
export function answerResponse(
  answer: HttpAnswer | HttpOk<unknown>,
  headers: Headers = new Headers(),
  head = false,
): Response {
  for (const name in answer.headers) headers.set(name, answer.headers[name] as string);
  return jsonResponse(answer.status, answer.body, headers, head);
}
