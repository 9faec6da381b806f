import { afterEach, expect, it } from "vitest";
import { startExample } from "../src/main.mjs";

let example;
afterEach(async () => {
  await example?.close();
});

/** A form-posting browser stand-in that keeps cookies and does not follow redirects. */
function browser(base) {
  let cookies = {};
  return async (method, path, form, headers = {}) => {
    const response = await fetch(`${base}${path}`, {
      method,
      redirect: "manual",
      headers: {
        ...headers,
        ...(form ? { "content-type": "application/x-www-form-urlencoded" } : {}),
        cookie: Object.entries(cookies)
          .map(([k, v]) => `${k}=${v}`)
          .join("; "),
      },
      body: form ? new URLSearchParams(form).toString() : undefined,
    });
    for (const header of response.headers.getSetCookie()) {
      const [pair] = header.split(";");
      const [name, value] = pair.split("=");
      cookies = { ...cookies, [name]: value };
    }
    return {
      status: response.status,
      location: response.headers.get("location"),
      text: await response.text(),
      cookies,
    };
  };
}

it("signs in with a WhatsApp code through Passport, keeps the session, and logs out", async () => {
  const lines = [];
  example = await startExample({ PORT: "0" }, (l) => lines.push(l));
  expect(lines[0]).toMatch(/simulator mode/);
  const go = browser(example.url);

  expect((await go("GET", "/account")).status).toBe(401);
  const sent = await go("POST", "/send-code", { phone: "+1 415 555 0101" });
  expect(sent.status).toBe(200);
  expect(sent.text).toContain('autocomplete="one-time-code"');
  const code = example.simulator.lastCode("+14155550101");
  expect(sent.text).toContain(`${code} is your verification code.`);

  const wrong = await go("POST", "/login", {
    phone: "+14155550101",
    code: code === "000000" ? "111111" : "000000",
  });
  expect(wrong.status).toBe(400);
  expect(wrong.text).toMatch(/The code is not right, or no longer valid\./);

  const before = sent.cookies["connect.sid"];
  expect(before).toBeTruthy();
  const login = await go("POST", "/login", { phone: "+14155550101", code });
  expect(login).toMatchObject({ status: 302, location: "/account" });
  expect(login.cookies["connect.sid"]).not.toBe(before);
  // The pre-login session id is worth nothing afterwards.
  const planted = await fetch(`${example.url}/account`, {
    headers: { cookie: `connect.sid=${before}` },
  });
  expect(planted.status).toBe(401);
  const account = await go("GET", "/account");
  expect(account.status).toBe(200);
  expect(account.text).toContain("+14155550101");

  expect((await go("POST", "/logout", {})).location).toBe("/");
  expect((await go("GET", "/account")).status).toBe(401);
});

it("refuses cross-site posts and answers empty bodies without a 500", async () => {
  example = await startExample({ PORT: "0" }, () => {});
  const cross = await fetch(`${example.url}/login`, {
    method: "POST",
    headers: {
      origin: "https://evil.example",
      "content-type": "application/x-www-form-urlencoded",
    },
    body: "phone=%2B14155550101&code=123456",
  });
  expect(cross.status).toBe(403);
  for (const path of ["/login", "/send-code"]) {
    const empty = await fetch(`${example.url}${path}`, { method: "POST" });
    expect(empty.status).toBeLessThan(500);
  }
});

it("shows a refusal in the form, not an error page", async () => {
  example = await startExample({ PORT: "0" }, () => {});
  const go = browser(example.url);
  const bad = await go("POST", "/send-code", { phone: "hello" });
  expect(bad.status).toBe(400);
  expect(bad.text).toMatch(/not valid/);
});

/** Signs a fresh browser in with the code the simulator delivered. */
async function signIn(phone) {
  const go = browser(example.url);
  await go("POST", "/send-code", { phone });
  const login = await go("POST", "/login", { phone, code: example.simulator.lastCode(phone) });
  expect(login).toMatchObject({ status: 302, location: "/account" });
  return go;
}

it("refuses a cross-site logout and keeps the session; a same-site logout works", async () => {
  example = await startExample({ PORT: "0" }, () => {});
  const go = await signIn("+14155550101");

  // What a page on another site can make a signed-in visitor's browser send.
  for (const headers of [
    { origin: "https://evil.example" },
    { "sec-fetch-site": "cross-site" },
    { origin: "https://evil.example", "sec-fetch-site": "cross-site" },
  ]) {
    expect((await go("POST", "/logout", {}, headers)).status).toBe(403);
  }
  expect((await go("GET", "/logout")).status).toBe(404);
  expect((await go("GET", "/account")).status).toBe(200);

  const out = await go(
    "POST",
    "/logout",
    {},
    { origin: example.url, "sec-fetch-site": "same-origin" },
  );
  expect(out).toMatchObject({ status: 302, location: "/" });
  expect((await go("GET", "/account")).status).toBe(401);
});

it("shows a generic page when 1MSG fails, never 1MSG's words or the token", async () => {
  example = await startExample({ PORT: "0" }, () => {});
  const go = browser(example.url);
  const faults = [
    { kind: "http", status: 401 },
    { kind: "http", status: 403 },
    { kind: "http", status: 500, body: { error: "Internal failure on node wa-7, queue 3" } },
    { kind: "sent_false", message: "Message was not sent: the user has not opted in" },
  ];
  for (const [i, fault] of faults.entries()) {
    example.simulator.inject(fault);
    const page = await go("POST", "/send-code", { phone: `+1415555010${i + 1}` });
    expect(page.status).toBeGreaterThanOrEqual(500);
    expect(page.text).toContain("Something went wrong on our side. Try again in a moment.");
    expect(page.text).not.toMatch(/1MSG|token|ONEMSG|sim-channel|HTTP|node wa-7|opted in/i);
  }
  expect(example.simulator.messages).toHaveLength(0);
});

it("keeps the reasons a visitor can act on: the wait before another code", async () => {
  example = await startExample({ PORT: "0" }, () => {});
  const go = browser(example.url);
  expect((await go("POST", "/send-code", { phone: "+14155550101" })).status).toBe(200);
  const again = await go("POST", "/send-code", { phone: "+14155550101" });
  expect(again.status).toBe(429);
  expect(again.text).toMatch(/A code was just sent to this phone\. Try again in \d+ s\./);
});
