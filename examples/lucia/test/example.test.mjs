import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, expect, it } from "vitest";
import { startExample } from "../src/main.mjs";

let example;
afterEach(async () => {
  await example?.close();
});

it("signs in with a WhatsApp code into a Lucia session, valid until log out", async () => {
  const lines = [];
  const dir = mkdtempSync(join(tmpdir(), "waotp-lucia-"));
  example = await startExample({ PORT: "0", DATABASE_PATH: join(dir, "lucia.sqlite") }, (l) =>
    lines.push(l),
  );
  expect(lines[0]).toMatch(/simulator mode/);
  let cookie = "";
  const call = async (method, path, body) => {
    const response = await fetch(`${example.url}${path}`, {
      method,
      headers: { ...(body ? { "content-type": "application/json" } : {}), cookie },
      body: body ? JSON.stringify(body) : undefined,
    });
    for (const header of response.headers.getSetCookie()) cookie = header.split(";")[0];
    return { status: response.status, body: await response.json() };
  };

  expect((await call("GET", "/api/me")).status).toBe(401);
  expect((await call("POST", "/api/send", { phone: "+44 20 7946 0958" })).status).toBe(200);
  const code = example.simulator.lastCode("+442079460958");
  const wrong = await call("POST", "/api/login", {
    phone: "+442079460958",
    code: code === "000000" ? "111111" : "000000",
  });
  expect(wrong.body.error).toEqual({
    code: "INVALID_CODE",
    message: expect.stringMatching(/not right, or no longer valid/),
  });
  expect((await call("POST", "/api/login", { phone: "+442079460958", code })).status).toBe(200);
  expect(cookie).toMatch(/^auth_session=\w+/);
  const sessionCookie = cookie;

  const me = await call("GET", "/api/me");
  expect(me).toMatchObject({ status: 200, body: { phone: "+442079460958" } });
  expect(example.db.prepare("select count(*) as n from session").get().n).toBe(1);

  await call("POST", "/api/logout", {});
  expect((await call("GET", "/api/me")).status).toBe(401);
  cookie = sessionCookie;
  expect((await call("GET", "/api/me")).status).toBe(401);
});

it("answers bad input with 4xx codes", async () => {
  const dir = mkdtempSync(join(tmpdir(), "waotp-lucia-"));
  example = await startExample({ PORT: "0", DATABASE_PATH: join(dir, "lucia.sqlite") }, () => {});
  const send = await fetch(`${example.url}/api/send`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ phone: 12 }),
  });
  expect(send.status).toBe(400);
  expect((await send.json()).error.code).toBe("INVALID_PHONE");
  const login = await fetch(`${example.url}/api/login`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ phone: "+442079460958", code: "abc" }),
  });
  expect(login.status).toBe(400);
});

/** Starts the example on a fresh database, signs a visitor in, and returns a caller with their cookie. */
async function signedIn(phone) {
  const dir = mkdtempSync(join(tmpdir(), "waotp-lucia-"));
  example = await startExample({ PORT: "0", DATABASE_PATH: join(dir, "lucia.sqlite") }, () => {});
  let cookie = "";
  const call = async (method, path, body, headers = {}) => {
    const response = await fetch(`${example.url}${path}`, {
      method,
      headers: { ...headers, ...(body ? { "content-type": "application/json" } : {}), cookie },
      body: body ? JSON.stringify(body) : undefined,
    });
    for (const header of response.headers.getSetCookie()) cookie = header.split(";")[0];
    return { status: response.status, text: await response.text() };
  };
  await call("POST", "/api/send", { phone });
  const code = example.simulator.lastCode(phone);
  expect((await call("POST", "/api/login", { phone, code })).status).toBe(200);
  return call;
}

it("refuses a cross-site logout and keeps the session; a same-site logout works", async () => {
  const call = await signedIn("+442079460958");
  const sessions = () => example.db.prepare("select count(*) as n from session").get().n;

  // What a page on another site can make a signed-in visitor's browser send: a form post needs no
  // body the server reads, so the JSON parser stops nothing.
  const form = { "content-type": "application/x-www-form-urlencoded" };
  for (const headers of [
    { ...form, origin: "https://evil.example" },
    { ...form, "sec-fetch-site": "cross-site" },
    {
      "content-type": "text/plain",
      origin: "https://evil.example",
      "sec-fetch-site": "cross-site",
    },
  ]) {
    expect((await call("POST", "/api/logout", undefined, headers)).status).toBe(403);
  }
  expect((await call("GET", "/api/logout")).status).toBe(404);
  expect(sessions()).toBe(1);
  expect((await call("GET", "/api/me")).status).toBe(200);

  const out = await call(
    "POST",
    "/api/logout",
    {},
    { origin: example.url, "sec-fetch-site": "same-origin" },
  );
  expect(out.status).toBe(200);
  expect(sessions()).toBe(0);
  expect((await call("GET", "/api/me")).status).toBe(401);
});

it("answers a 1MSG failure with a generic error, never 1MSG's words or the token", async () => {
  const dir = mkdtempSync(join(tmpdir(), "waotp-lucia-"));
  example = await startExample({ PORT: "0", DATABASE_PATH: join(dir, "lucia.sqlite") }, () => {});
  const faults = [
    { kind: "http", status: 401 },
    { kind: "http", status: 500, body: { error: "Internal failure on node wa-7, queue 3" } },
    { kind: "sent_false", message: "Message was not sent: the user has not opted in" },
  ];
  for (const [i, fault] of faults.entries()) {
    example.simulator.inject(fault);
    const response = await fetch(`${example.url}/api/send`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ phone: `+1415555010${i + 1}` }),
    });
    expect(response.status).toBe(502);
    const text = await response.text();
    expect(JSON.parse(text).error.code).toBe("SEND_FAILED");
    expect(text).not.toMatch(/1MSG|token|ONEMSG|sim-channel|HTTP|node wa-7|opted in/i);
  }
});
