/**
 * Test-only: the two servers the Web handler's tests run it behind, over real HTTP on 127.0.0.1.
 * (a) A bare Node `http` server that turns each `IncomingMessage` into a `Request` with a streamed
 * body and writes the `Response` back; (b) Hono on Node (`@hono/node-server`), the handler mounted
 * with `app.all("/otp/*", (c) => handler(c.req.raw))`. Not part of the package.
 */
import { once } from "node:events";
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { Readable } from "node:stream";
import { serve } from "@hono/node-server";
import { Hono } from "hono";
import type { OtpHandler } from "../src/web/handler.js";

export interface Served {
  url: string;
  close(): Promise<void>;
}

export type Harness = (handler: OtpHandler) => Promise<Served>;

/**
 * The request as a `Request`. Over a loopback connection, `X-Forwarded-Proto: https` makes it an
 * HTTPS request (a trusted TLS proxy in front), so the tests can see `Secure` cookies.
 */
function toRequest(req: IncomingMessage): Request {
  const loopback = req.socket.remoteAddress === "127.0.0.1" || req.socket.remoteAddress === "::1";
  const proto = loopback && req.headers["x-forwarded-proto"] === "https" ? "https" : "http";
  const headers = new Headers();
  for (let i = 0; i < req.rawHeaders.length; i += 2) {
    headers.append(req.rawHeaders[i] as string, req.rawHeaders[i + 1] as string);
  }
  const hasBody =
    req.headers["content-length"] !== undefined || req.headers["transfer-encoding"] !== undefined;
  const withBody = hasBody && req.method !== "GET" && req.method !== "HEAD";
  return new Request(`${proto}://${req.headers.host ?? "localhost"}${req.url ?? "/"}`, {
    method: req.method ?? "GET",
    headers,
    ...(withBody ? { body: bodyOf(req), duplex: "half" } : {}),
  } as RequestInit);
}

/**
 * The request body as a stream. When the handler stops reading (a body over the limit), the rest
 * is discarded unread, never held, and the connection closes after the answer, as servers do.
 */
function bodyOf(req: IncomingMessage): ReadableStream<Uint8Array> {
  const stream = Readable.toWeb(req) as unknown as ReadableStream<Uint8Array>;
  const reader = stream.getReader();
  return new ReadableStream<Uint8Array>({
    async pull(controller) {
      const next = await reader.read();
      if (next.done) controller.close();
      else controller.enqueue(next.value);
    },
    cancel() {
      reader.releaseLock();
      req.unpipe();
      req.resume();
    },
  });
}

async function writeResponse(
  response: Response,
  req: IncomingMessage,
  res: ServerResponse,
): Promise<void> {
  res.statusCode = response.status;
  if (!req.complete) res.shouldKeepAlive = false;
  for (const [name, value] of response.headers) {
    if (name !== "set-cookie") res.setHeader(name, value);
  }
  const cookies = response.headers.getSetCookie();
  if (cookies.length > 0) res.setHeader("set-cookie", cookies);
  if (response.body === null) return void res.end();
  for await (const chunk of response.body as unknown as AsyncIterable<Uint8Array>) res.write(chunk);
  res.end();
}

async function listen(server: Server): Promise<Served> {
  if (!server.listening) {
    server.listen(0, "127.0.0.1");
    await once(server, "listening");
  }
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

/** (a) The handler behind a bare Node `http` server. */
export const nodeHarness: Harness = (handler) =>
  listen(
    createServer((req, res) => {
      handler(toRequest(req))
        .then((response) => writeResponse(response, req, res))
        .catch(() => {
          res.statusCode = 599; // The handler must never reject: the tests look for this.
          res.end();
        });
    }),
  );

/** (b) The handler in a Hono app on Node, as a Hono user mounts it. */
export const honoHarness: Harness = async (handler) => {
  const app = new Hono();
  app.all("/otp/*", (c) => {
    // Behind a trusted TLS proxy on loopback, as the Node harness does.
    const raw = c.req.raw;
    if (c.req.header("x-forwarded-proto") !== "https") return handler(raw);
    return handler(
      new Request(raw.url.replace(/^http:/, "https:"), {
        method: raw.method,
        headers: raw.headers,
        body: raw.body,
        duplex: "half",
      } as RequestInit),
    );
  });
  const server = serve({ fetch: app.fetch, port: 0, hostname: "127.0.0.1" }) as Server;
  return listen(server);
};
