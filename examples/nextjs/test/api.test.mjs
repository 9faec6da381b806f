import { afterAll, beforeAll, expect, it } from "vitest";
import { startExample } from "../src/main.mjs";

let example;
beforeAll(async () => {
  const lines = [];
  example = await startExample({ PORT: "0" }, (line) => lines.push(line));
  expect(lines[0]).toMatch(/^waotp Next\.js example on http:\/\/localhost:\d+ \(simulator mode/);
});
afterAll(async () => {
  await example?.close();
});

/** A browser stand-in for the page's JSON calls: keeps cookies, sends JSON. */
function browser(base) {
  const cookies = new Map();
  return async (method, path, body, headers = {}) => {
    const response = await fetch(`${base}${path}`, {
      method,
      redirect: "manual",
      headers: {
        ...(body ? { "content-type": "application/json" } : {}),
        cookie: [...cookies].map(([k, v]) => `${k}=${v}`).join("; "),
        ...headers,
      },
      body: body ? JSON.stringify(body) : undefined,
    });
    for (const header of response.headers.getSetCookie()) {
      const [pair] = header.split(";");
      const [name, value] = pair.split("=");
      cookies.set(name, value);
    }
    const text = await response.text();
    return {
      status: response.status,
      headers: response.headers,
      text,
      json: () => JSON.parse(text),
    };
  };
}

it("signs in with a WhatsApp code through the route handlers of the production build", async () => {
  const go = browser(example.url);
  const home = await go("GET", "/");
  expect(home.status).toBe(200);
  expect(home.text).toContain("Sign in with WhatsApp");
  const before = await go("GET", "/account");
  expect(before.status).toBe(307);
  expect(before.headers.get("location")).toBe("/");

  const sent = await go("POST", "/api/otp/send", { phone: "+1 415 555 0101" });
  expect(sent.status).toBe(200);
  expect(sent.json().phone).toBe("+14155550101");
  const code = example.simulator.lastCode("+14155550101");
  const inbox = await go("GET", "/api/simulated-inbox?phone=%2B14155550101");
  expect(inbox.json().at(-1)).toContain(code);

  const wrong = await go("POST", "/api/otp/verify", {
    phone: "+14155550101",
    code: code === "000000" ? "111111" : "000000",
  });
  expect(wrong.status).toBe(400);
  expect(wrong.json().error.code).toBe("INVALID_CODE");

  const right = await go("POST", "/api/otp/verify", { phone: "+14155550101", code });
  expect(right.status).toBe(200);
  const account = await go("GET", "/account");
  expect(account.status).toBe(200);
  expect(account.text).toContain("+14155550101");
  // A used code does not sign in twice.
  const again = await go("POST", "/api/otp/verify", { phone: "+14155550101", code });
  expect(again.status).toBe(400);
});

it("answers the core's contract: bad JSON, unknown routes, and a per-client send limit", async () => {
  const bad = await fetch(`${example.url}/api/otp/send`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: "{",
  });
  expect(bad.status).toBe(400);
  expect((await bad.json()).error.code).toBe("INVALID_JSON");
  const unknown = await fetch(`${example.url}/api/otp/nothing`, { method: "POST" });
  expect(unknown.status).toBe(404);
  expect((await unknown.json()).error.code).toBe("NOT_FOUND");

  // The client's address comes from the socket: a forged X-Forwarded-For does not buy new sends.
  const go = browser(example.url);
  const answers = [];
  for (let i = 0; i < 22; i += 1) {
    const forged = { "x-forwarded-for": `203.0.113.${i}` };
    answers.push(
      (await go("POST", "/api/otp/send", { phone: `+1415555${1000 + i}` }, forged)).status,
    );
  }
  expect(answers).toContain(429);
});
