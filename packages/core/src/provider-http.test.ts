import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { afterEach, describe, expect, it } from "vitest";
import { connectionErrorCode, neverLeft, TIMED_OUT, timedFetch } from "./provider-http.js";

// The calls a provider client makes without a `fetch` of the app's go through Node's own HTTP
// client: these run it against real sockets, including the ways a provider can misbehave.
let server: Server | undefined;
afterEach(async () => {
  const running = server;
  server = undefined;
  if (running === undefined) return;
  running.closeAllConnections();
  await new Promise((resolve) => running.close(resolve));
});

async function serve(handler: (req: IncomingMessage, res: ServerResponse) => void) {
  server = createServer(handler);
  await new Promise<void>((resolve) => server?.listen(0, "127.0.0.1", resolve));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

const post = { method: "POST", headers: { "content-type": "application/json" }, body: "{}" };

describe("timedFetch over Node's HTTP client", () => {
  it("sends the method, headers and body, and reads the status, Retry-After and text", async () => {
    let seen: { method?: string; type?: string; length?: string; body: string } = { body: "" };
    const url = await serve(async (req, res) => {
      let body = "";
      for await (const chunk of req) body += chunk;
      seen = {
        method: req.method,
        type: req.headers["content-type"],
        length: req.headers["content-length"],
        body,
      };
      res.writeHead(429, { "retry-after": "7", "content-type": "application/json" });
      res.end(JSON.stringify({ text: "ünïcode" }));
    });
    const body = JSON.stringify({ phone: "14155550101", name: "é" });
    const answer = await timedFetch(undefined, `${url}/x?token=t`, { ...post, body }, 2000);
    expect(answer).toEqual({ status: 429, retryAfter: "7", text: '{"text":"ünïcode"}' });
    expect(seen).toEqual({
      method: "POST",
      type: "application/json",
      length: String(Buffer.byteLength(body)),
      body,
    });
  });

  it("gives up with TIMED_OUT when the provider does not answer in time, and frees the socket", async () => {
    let closed = false;
    const url = await serve((req) => req.socket.on("close", () => (closed = true)));
    const started = Date.now();
    await expect(timedFetch(undefined, url, post, 150)).rejects.toBe(TIMED_OUT);
    expect(Date.now() - started).toBeLessThan(1500);
    await expect.poll(() => closed).toBe(true);
  });

  it("times out an answer that starts but never ends", async () => {
    const url = await serve((_req, res) => {
      res.writeHead(200, { "content-type": "application/json" });
      res.write('{"sent":');
    });
    await expect(timedFetch(undefined, url, post, 150)).rejects.toBe(TIMED_OUT);
  });

  it("fails a connection that broke mid-answer as one that may have carried the request", async () => {
    const url = await serve((req, res) => {
      res.writeHead(200, { "content-length": "100" });
      res.write("{");
      setTimeout(() => req.socket.destroy(), 10);
    });
    const error = await timedFetch(undefined, url, post, 2000).catch((e: unknown) => e);
    expect(error).not.toBe(TIMED_OUT);
    expect(neverLeft(connectionErrorCode(error))).toBe(false);
  });

  it("fails a refused connection as one that never left this machine", async () => {
    const url = await serve(() => {});
    const closing = server;
    server = undefined;
    await new Promise((resolve) => closing?.close(resolve));
    const error = await timedFetch(undefined, url, post, 2000).catch((e: unknown) => e);
    expect(connectionErrorCode(error)).toBe("ECONNREFUSED");
    expect(neverLeft(connectionErrorCode(error))).toBe(true);
  });

  it("refuses an answer larger than a provider ever sends", async () => {
    const url = await serve((_req, res) => {
      res.writeHead(200);
      const chunk = Buffer.alloc(1024 * 1024, 97);
      const write = (left: number): void => {
        if (left === 0 || res.destroyed) return void res.end();
        res.write(chunk, () => write(left - 1));
      };
      write(16);
    });
    await expect(timedFetch(undefined, url, post, 5000)).rejects.toThrow(/too large/);
  });
});
