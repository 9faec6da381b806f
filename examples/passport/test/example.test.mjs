import { afterEach, expect, it } from "vitest";
import { startExample } from "../src/main.mjs";

let example;
afterEach(async () => {
  await example?.close();
});

/** A form-posting browser stand-in that keeps cookies and does not follow redirects. */
function browser(base) {
  let cookies = {};
  return async (method, path, form) => {
    const response = await fetch(`${base}${path}`, {
      method,
      redirect: "manual",
      headers: {
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
  expect(wrong.status).toBe(401);
  expect(wrong.text).toMatch(/The code is not right\. 4 tries left\./);

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
