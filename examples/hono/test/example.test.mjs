import { afterEach, expect, it } from "vitest";
import { startExample } from "../src/main.mjs";

let example;
afterEach(async () => {
  await example?.close();
});

/** A browser stand-in for the page's JSON calls: keeps cookies, sends JSON. */
function browser(base) {
  const cookies = new Map();
  return async (method, path, body) => {
    const response = await fetch(`${base}${path}`, {
      method,
      redirect: "manual",
      headers: {
        ...(body ? { "content-type": "application/json" } : {}),
        cookie: [...cookies].map(([k, v]) => `${k}=${v}`).join("; "),
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

it("signs in with a WhatsApp code through the Web handler on Hono", async () => {
  const lines = [];
  example = await startExample({ PORT: "0" }, (l) => lines.push(l));
  expect(lines[0]).toMatch(/simulator mode/);
  const go = browser(example.url);

  expect((await go("GET", "/")).text).toContain('autocomplete="one-time-code"');
  const before = await go("GET", "/account");
  expect(before.status).toBe(401);
  expect(before.json().error.code).toBe("STEP_UP_REQUIRED");

  const sent = await go("POST", "/otp/send", { phone: "+1 415 555 0101" });
  expect(sent.status).toBe(200);
  expect(sent.json().phone).toBe("+14155550101");
  const code = example.simulator.lastCode("+14155550101");
  const inbox = await go("GET", "/simulated-inbox?phone=%2B14155550101");
  expect(inbox.json().at(-1)).toContain(code);
  // A page reaching the server through another name (DNS rebinding) learns nothing.
  const { request } = await import("node:http");
  const rebound = await new Promise((resolve, reject) => {
    const req = request(
      `${example.url}/simulated-inbox?phone=%2B14155550101`,
      { headers: { host: "attacker.example" } },
      (res) => {
        let body = "";
        res.on("data", (chunk) => {
          body += chunk;
        });
        res.on("end", () => resolve(body));
      },
    );
    req.on("error", reject);
    req.end();
  });
  expect(JSON.parse(rebound)).toEqual([]);

  const wrong = await go("POST", "/otp/verify", {
    phone: "+14155550101",
    code: code === "000000" ? "111111" : "000000",
  });
  expect(wrong.status).toBe(400);
  expect(wrong.json().error.code).toBe("INVALID_CODE");

  const right = await go("POST", "/otp/verify", { phone: "+14155550101", code });
  expect(right.status).toBe(200);
  const account = await go("GET", "/account");
  expect(account.status).toBe(200);
  expect(account.text).toContain("+14155550101");
  // A used code does not sign in twice.
  expect((await go("POST", "/otp/verify", { phone: "+14155550101", code })).status).toBe(400);
});

it("answers bad bodies with a coded 4xx, and limits the sends of one client", async () => {
  example = await startExample({ PORT: "0" }, () => {});
  const go = browser(example.url);
  const bad = await fetch(`${example.url}/otp/send`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: "{",
  });
  expect(bad.status).toBe(400);
  expect((await bad.json()).error.code).toBe("INVALID_JSON");
  // Twenty sends from one client (to different phones) fit; the default per-IP window is then full.
  const answers = [];
  for (let i = 0; i < 22; i += 1) {
    answers.push((await go("POST", "/otp/send", { phone: `+1415555${String(1000 + i)}` })).status);
  }
  expect(answers).toContain(429);
});
