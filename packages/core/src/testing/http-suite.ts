/**
 * The HTTP contract every adapter serves (the Express router, the Web-standard handler, Fastify),
 * written once and run against each over real HTTP: `POST /otp/send`, `POST /otp/verify`,
 * `POST /otp/webhook/:secret` and `GET /otp/status/:messageId`, with the same answers, errors,
 * body limits, content-type checks and cookies. A behaviour that differs between adapters fails here.
 *
 * Call `describeHttpContract(name, mount)` from a `*.test.ts` file. `mount` starts a real server on
 * 127.0.0.1, port 0, serving the adapter under `/otp`, with `ContractOptions` mapped onto the
 * adapter's own options of the same names. Requests are plain `fetch` calls; cookies are kept by hand.
 *
 * What an adapter must do to mount it:
 * - Hand `clientIp` and `onVerified` on wrapped: the suite's take a `ContractRequest` (a header
 *   reader), so `clientIp: (req) => options.clientIp({ header: (n) => headerOf(req, n) })`. The
 *   client address comes from `clientIp` alone (the suite's reads `x-client-ip`), never from the
 *   framework's proxy settings: do not set `trust proxy` / `trustProxy` for the suite.
 * - `onVerified` returns `false` to refuse, anything else to go on; the suite never answers the
 *   request from it, so an adapter whose own `onVerified` can answer (Express's `res`) tests that
 *   in its own suite.
 * - Without `secret`, mounting must still work: the verify route answers 500 `CONFIG_INVALID`
 *   before it uses the code up.
 * - Without `webhookSecret`, `POST /otp/webhook/:secret` is not there: 404.
 * - Cookies are compared by name, value and attributes (names in any case and order, `SameSite`'s
 *   value in any case); `Expires` may be there beside `Max-Age` or not.
 */
import { gzipSync } from "node:zlib";
import { afterEach, describe, expect, it } from "vitest";
import { OtpError } from "../errors.js";
import type { OtpEvent } from "../events.js";
import { errorAnswer, type HttpAnswer, thrownAnswer, verifyFailureAnswer } from "../http.js";
import type { HttpSendContext } from "../http-routes.js";
import type { BeforeSend, OtpOptions } from "../options.js";
import { createOtp, type Otp } from "../otp.js";
import type { VerifyFailureDetail } from "../public.js";
import { memoryStore } from "../store/memory.js";
import type { Store } from "../store/types.js";
import { twilioSms } from "../twilio/channel.js";
import { ACCOUNT_SID, CREATED_MESSAGE, callback } from "../twilio/fixtures.js";
import { twilioSignature } from "../twilio/signature.js";
import { createTestChannel } from "./test-channel.js";

/**
 * What the suite's callbacks see of a request, whatever the framework: its headers. An adapter
 * builds it from its own request, e.g. `{ header: (name) => req.get(name) }` (Express),
 * `{ header: (name) => request.headers.get(name) ?? undefined }` (a Web `Request`).
 */
export interface ContractRequest {
  /** The value of a request header (any case), undefined when the request has none. */
  header(name: string): string | undefined;
}

/** Who verified, as every adapter's `onVerified` is given it. */
export interface ContractVerified {
  phone: string;
  purpose: string;
}

/**
 * The options every adapter shares, with the names and meanings of the Express router's
 * `OtpRouterOptions`. Options a test does not set are absent (never present as `undefined`).
 * The callbacks take a `ContractRequest`: an adapter wraps them, e.g.
 * `clientIp: (req) => options.clientIp(view(req))`.
 */
export interface ContractOptions {
  /** Signs the verified-state cookie. Absent in the test where nothing can be remembered. */
  secret?: string | Uint8Array;
  /** The secret in `POST /otp/webhook/:secret`. Absent: the webhook route is not mounted (404). */
  webhookSecret?: string;
  /**
   * Runs after a code verified, before anything is remembered or answered: `false` refuses the
   * user (403 `VERIFICATION_REFUSED`, nothing remembered, no cookie set); anything else goes on to
   * the normal answer. The suite signs users in here by recording who verified from which request.
   */
  onVerified?: (
    result: ContractVerified,
    request: ContractRequest,
  ) => boolean | undefined | Promise<boolean | undefined>;
  /** What a failed verification tells the client. Absent: `"generic"`. */
  verifyFailures?: VerifyFailureDetail;
  /** Largest JSON body for send and verify, in bytes. Absent: 2048. */
  bodyLimit?: number;
  /**
   * The client address for per-IP limits. Always given: the suite says "the client address is X"
   * through it, not through the framework's proxy settings, so an adapter must hand its `clientIp`
   * option exactly this (wrapped to take a `ContractRequest`). The suite's reads the
   * `x-client-ip` header, or answers `127.0.0.1` when there is none; in the test of clients whose
   * address cannot be seen it answers `undefined` (unknown: such sends share one bucket).
   */
  clientIp: (request: ContractRequest) => string | undefined;
  /** The browser's id cookie. Absent: `"waotp_client"`; `false` turns it off. */
  clientCookie?: string | false;
}

/** A running server. */
export interface MountedAdapter {
  /** The server's origin, e.g. `http://127.0.0.1:41234`; the routes are under `${url}/otp`. */
  url: string;
  /** Stops the server and closes its connections (kept-alive ones included). */
  close(): Promise<void>;
}

/**
 * Starts a real server on 127.0.0.1, port 0, serving the adapter for `otp` under the path `/otp`,
 * with `options` mapped onto the adapter's own. Nothing else needs mounting.
 */
export type MountAdapter = (otp: Otp, options: ContractOptions) => Promise<MountedAdapter>;

const SECRET = "http-contract-secret-0123456789abcdef0123";
const WEBHOOK_SECRET = "hook-secret-0123456789";
const PHONE = "+14155550101";
/** The header the suite's `clientIp` reads the client address from. */
const CLIENT_IP_HEADER = "x-client-ip";

/** The suite's `clientIp`: the `x-client-ip` header, loopback without one. */
const clientIpFromHeader = (request: ContractRequest) =>
  request.header(CLIENT_IP_HEADER) ?? "127.0.0.1";

// biome-ignore lint/suspicious/noExplicitAny: a JSON body, read as loosely as tests read JSON.
type Json = any;

interface Answer {
  status: number;
  /** The parsed JSON body; undefined when the body is empty or not JSON. */
  body: Json;
  headers: Headers;
  /** Every `Set-Cookie` line. */
  cookies: string[];
}

interface SetCookie {
  name: string;
  value: string;
  /** Attribute names in lower case; flags (`httponly`) have the value `""`. */
  attributes: Record<string, string>;
}

function parseSetCookie(line: string): SetCookie {
  const [pair = "", ...parts] = line.split(";").map((part) => part.trim());
  const eq = pair.indexOf("=");
  const attributes: Record<string, string> = {};
  for (const part of parts) {
    const at = part.indexOf("=");
    const name = (at === -1 ? part : part.slice(0, at)).toLowerCase();
    attributes[name] = at === -1 ? "" : part.slice(at + 1);
  }
  if (attributes.samesite !== undefined) attributes.samesite = attributes.samesite.toLowerCase();
  return { name: pair.slice(0, eq), value: pair.slice(eq + 1), attributes };
}

/** The cookie a response sets under `name`, if it sets one. */
function cookieIn(res: Answer, name: string): SetCookie | undefined {
  return res.cookies.map(parseSetCookie).find((c) => c.name === name);
}

/** The `name=value` of the cookie a response sets under `name`, "" when it sets none. */
function cookieNamed(res: Answer, name: string): string {
  const found = cookieIn(res, name);
  return found === undefined ? "" : `${found.name}=${found.value}`;
}

/**
 * A cookie's attributes, with `Expires` (optional beside `Max-Age`, but a date when there) left out.
 */
function attributesOf(cookie: SetCookie | undefined): Record<string, string> | undefined {
  if (cookie === undefined) return undefined;
  const { expires, ...rest } = cookie.attributes;
  if (expires !== undefined) expect(Number.isNaN(Date.parse(expires))).toBe(false);
  return rest;
}

interface Call {
  method?: "GET" | "POST";
  /** The raw body; with `type`, its content type. */
  body?: string | Uint8Array;
  type?: string;
  headers?: Record<string, string>;
}

/** Talks to a mounted adapter; a browser (`keepsCookies`) also keeps the cookies it is given. */
class Client {
  private readonly jar = new Map<string, string>();

  constructor(
    private readonly origin: string,
    private readonly keepsCookies: boolean,
  ) {}

  async call(path: string, call: Call = {}): Promise<Answer> {
    const headers: Record<string, string> = {};
    if (call.type !== undefined) headers["content-type"] = call.type;
    if (this.jar.size > 0) {
      headers.cookie = [...this.jar].map(([name, value]) => `${name}=${value}`).join("; ");
    }
    Object.assign(headers, call.headers);
    const res = await fetch(`${this.origin}${path}`, {
      method: call.method ?? (call.body === undefined ? "GET" : "POST"),
      headers,
      ...(call.body === undefined ? {} : { body: call.body }),
    });
    const text = await res.text();
    let body: Json;
    try {
      body = text === "" ? undefined : JSON.parse(text);
    } catch {
      body = undefined;
    }
    const cookies = res.headers.getSetCookie();
    if (this.keepsCookies) {
      for (const cookie of cookies.map(parseSetCookie)) {
        if (cookie.attributes["max-age"] === "0") this.jar.delete(cookie.name);
        else this.jar.set(cookie.name, cookie.value);
      }
    }
    return { status: res.status, body, headers: res.headers, cookies };
  }

  get(path: string, headers: Record<string, string> = {}): Promise<Answer> {
    return this.call(path, { headers });
  }

  /** A POST whose body is `body` as JSON. */
  post(path: string, body: unknown, headers: Record<string, string> = {}): Promise<Answer> {
    return this.call(path, { body: JSON.stringify(body), type: "application/json", headers });
  }

  /** A POST of a raw body with the given content type. */
  raw(body: string, type = "application/json", path = "/otp/send"): Promise<Answer> {
    return this.call(path, { method: "POST", body, type });
  }

  send(body: unknown = { phone: PHONE }, headers: Record<string, string> = {}): Promise<Answer> {
    return this.post("/otp/send", body, headers);
  }

  verify(body: unknown, headers: Record<string, string> = {}): Promise<Answer> {
    return this.post("/otp/verify", body, headers);
  }
}

/** A JSON body of exactly `bytes` bytes: `value`, padded with trailing whitespace. */
function sized(value: unknown, bytes: number): string {
  const json = JSON.stringify(value);
  if (json.length > bytes) throw new Error(`${json.length} bytes do not fit in ${bytes}`);
  return json + " ".repeat(bytes - json.length);
}

/** `options` without the keys whose value is undefined. */
function present(options: Partial<ContractOptions>): ContractOptions {
  return Object.fromEntries(
    Object.entries(options).filter(([, value]) => value !== undefined),
  ) as unknown as ContractOptions;
}

/**
 * Runs the HTTP contract against an adapter, as `it`s under one `describe` named after `name`.
 * Each starts its own engine (`createOtp` with `createTestChannel()` and a clock of its own) and
 * its own server through `mount`, closed after it.
 */
export function describeHttpContract(name: string, mount: MountAdapter): void {
  const running: MountedAdapter[] = [];

  async function start(
    options: { otp?: Partial<OtpOptions>; adapter?: Partial<ContractOptions> } = {},
  ) {
    let now = Date.UTC(2026, 0, 1);
    const channel = createTestChannel();
    const events: OtpEvent[] = [];
    const otp = createOtp({
      secret: SECRET,
      channel,
      now: () => now,
      onEvent: (e) => {
        events.push(e);
      },
      ...options.otp,
    });
    const mounted = await mount(
      otp,
      present({
        secret: SECRET,
        webhookSecret: WEBHOOK_SECRET,
        clientIp: clientIpFromHeader,
        ...options.adapter,
      }),
    );
    running.push(mounted);
    const origin = mounted.url.replace(/\/+$/, "");
    const site = new Client(origin, false);
    return {
      site,
      /** A new browser: it keeps the cookies it is given. */
      browser: () => new Client(origin, true),
      origin,
      channel,
      events,
      otp,
      advance: (seconds: number) => {
        now += seconds * 1000;
      },
    };
  }

  describe(`the HTTP contract on ${name}`, () => {
    afterEach(async () => {
      const servers = running.splice(0);
      await Promise.all(servers.map((server) => server.close()));
    });

    describe("POST /send", () => {
      it("sends a code and answers with the message id, expiry and resend time", async () => {
        const { site, channel } = await start();
        const res = await site.send({ phone: "+1 (415) 555-0101" });
        expect(res.status).toBe(200);
        expect(res.body).toEqual({
          phone: PHONE,
          messageId: channel.messages[0]?.messageId,
          channel: channel.name,
          expiresAt: "2026-01-01T00:05:00.000Z",
          resendAt: "2026-01-01T00:01:00.000Z",
        });
        expect(JSON.stringify(res.body)).not.toContain(channel.messages[0]?.code);
      });

      it("sends in the user's language and through the fallback when asked, and only a configured one", async () => {
        const sms = createTestChannel({ name: "sms-test", kind: "sms" });
        const { site, channel, browser } = await start({ otp: { delivery: { fallback: sms } } });
        const user = browser();
        const first = await user.send({ phone: PHONE, locale: "pt-BR" });
        expect(first.body).toMatchObject({ channel: "test" });
        expect(channel.messages[0]?.locale).toBe("pt-BR");
        const bySms = await user.send({ phone: PHONE, channel: "sms", locale: "es" });
        expect(bySms.status).toBe(200);
        expect(bySms.body).toMatchObject({ channel: "sms-test", fallback: "requested" });
        expect(sms.messages[0]?.locale).toBe("es");
        const status = await user.get(`/otp/status/${bySms.body.messageId}`);
        expect(status.body).toMatchObject({ status: "accepted", channel: "sms-test" });
        // Without a locale in the body, the browser's preferred language.
        await user.send({ phone: "+14155550103" }, { "accept-language": "es-MX,es;q=0.9,*;q=0.1" });
        expect(channel.messages.at(-1)?.locale).toBe("es-MX");
        const unknown = await site.send({ phone: "+14155550102", channel: "email" });
        expect(unknown.status).toBe(400);
        expect(unknown.body.error).toMatchObject({ code: "INVALID_INPUT" });
        const typed = await site.send({ phone: "+14155550102", locale: 7 });
        expect(typed.status).toBe(400);
      });

      it("answers INVALID_PHONE with 400", async () => {
        const { site } = await start();
        const res = await site.send({ phone: "+1 555 123 4567" });
        expect(res.status).toBe(400);
        expect(res.body.error).toMatchObject({ code: "INVALID_PHONE" });
      });

      it("answers RATE_LIMITED with 429 and Retry-After", async () => {
        const { site } = await start();
        await site.send();
        const res = await site.send();
        expect(res.status).toBe(429);
        expect(res.headers.get("retry-after")).toBe("60");
        expect(res.body.error).toMatchObject({
          code: "RATE_LIMITED",
          retryAfter: 60,
          limit: "phone_cooldown",
        });
      });

      it("counts sends per client address, as clientIp tells it", async () => {
        const { site } = await start({ otp: { limits: { sendsPerIp: { max: 1 } } } });
        const from = (ip: string, phone: string) =>
          site.send({ phone }, { [CLIENT_IP_HEADER]: ip });
        expect((await from("203.0.113.1", "+14155550101")).status).toBe(200);
        expect((await from("203.0.113.2", "+14155550102")).status).toBe(200);
        const limited = await from("203.0.113.1", "+14155550103");
        expect(limited.status).toBe(429);
        expect(limited.body.error.limit).toBe("ip_window");
      });

      it("answers SEND_FAILED with 502 and no internal detail", async () => {
        const { site, channel } = await start();
        channel.failNext(new Error("1MSG refused token tok_123 for channel ch"));
        const res = await site.send();
        expect(res.status).toBe(502);
        expect(res.body).toEqual({
          error: {
            code: "SEND_FAILED",
            message: "The code could not be sent right now. Try again in a moment.",
          },
        });
      });

      it("tells a client whose message may still arrive to wait for it, and when to ask again", async () => {
        const { site, channel } = await start();
        // 1MSG failed after taking the message: the phone has the code, the send has no answer.
        const uncertain = Object.assign(new Error("1MSG answered HTTP 502 for token tok_123"), {
          uncertain: true,
        });
        const originalSend = channel.send.bind(channel);
        channel.send = async (message) => {
          await originalSend(message);
          throw uncertain;
        };
        const res = await site.send();
        expect(res.status).toBe(502);
        expect(res.body).toEqual({
          error: {
            code: "SEND_FAILED",
            delivery: "unknown",
            retryAfter: 60,
            message: expect.stringMatching(/may still arrive: its code will work/),
          },
        });
        expect(JSON.stringify(res.body)).not.toContain("tok_123");
        // The late message's code works, and asking again waits for the cooldown.
        expect((await site.send()).status).toBe(429);
        const verified = await site.verify({ phone: PHONE, code: channel.lastCode(PHONE) });
        expect(verified.status).toBe(200);
      });

      it("caps sends from clients whose address it cannot see in one shared bucket", async () => {
        // Behind a Unix socket or an untrusted proxy there is no address: that must not mean no limit.
        const { site } = await start({ adapter: { clientIp: () => undefined } });
        const statuses = [];
        for (let i = 0; i < 21; i++) {
          const res = await site.send({ phone: `+1415555${String(1000 + i)}` });
          statuses.push(res.status);
        }
        expect(statuses.slice(0, 20)).toEqual(Array(20).fill(200));
        expect(statuses[20]).toBe(429);
      });

      it("keeps the owner's browser signing in while strangers fill the phone's guess budget", async () => {
        const { browser, channel, advance } = await start();
        const owner = browser();
        // The owner's browser signed in once; its cookie makes it known to the phone.
        const first = await owner.send({ phone: PHONE });
        const client = cookieIn(first, "waotp_client");
        expect(client?.value).toMatch(/^[\w-]{22}$/);
        expect(client?.attributes).toMatchObject({ httponly: "", samesite: "lax" });
        expect(client?.attributes).not.toHaveProperty("secure");
        const code = channel.lastCode(PHONE);
        expect((await owner.verify({ phone: PHONE, code })).status).toBe(200);
        // Strangers, each a new browser from a new address, spend the phone's 20 wrong guesses.
        for (let i = 0; i < 4; i++) {
          advance(60);
          const stranger = browser();
          const from = { [CLIENT_IP_HEADER]: `203.0.113.${i}` };
          await stranger.send({ phone: PHONE }, from);
          for (let g = 0; g < 5; g++) {
            await stranger.verify({ phone: PHONE, code: "000000" }, from);
          }
        }
        // The owner gets a code at once and signs in with it.
        expect((await owner.send({ phone: PHONE })).status).toBe(200);
        const res = await owner.verify({ phone: PHONE, code: channel.lastCode(PHONE) });
        expect(res.status).toBe(200);
      });

      it("gives the browser a new client id at sign-in, so an id planted in it stays a stranger", async () => {
        const { site, channel, advance } = await start();
        const planted = "waotp_client=PlantedByTheAttacker_0";
        await site.send({ phone: PHONE }, { cookie: planted });
        const signIn = await site.verify(
          { phone: PHONE, code: channel.lastCode(PHONE) },
          { cookie: planted },
        );
        expect(signIn.status).toBe(200);
        const issued = cookieNamed(signIn, "waotp_client");
        expect(issued).toMatch(/^waotp_client=[\w-]{22}$/);
        expect(issued).not.toBe(planted);
        // The planted id shares the phone's cooldown like any stranger; the issued one does not.
        advance(30);
        expect((await site.send({ phone: PHONE }, { cookie: planted })).status).toBe(429);
        expect((await site.send({ phone: PHONE }, { cookie: issued })).status).toBe(200);
      });

      it("answers STORE_UNAVAILABLE with 503", async () => {
        const store = memoryStore();
        store.take = async () => {
          throw new Error("redis down");
        };
        const { site } = await start({ otp: { store: store as Store } });
        const res = await site.send();
        expect(res.status).toBe(503);
        expect(res.body.error.code).toBe("STORE_UNAVAILABLE");
        expect(JSON.stringify(res.body)).not.toContain("redis");
      });

      it("passes the Idempotency-Key header on", async () => {
        const { site, channel } = await start();
        const first = await site.send({ phone: PHONE }, { "idempotency-key": "abc" });
        const again = await site.send({ phone: PHONE }, { "idempotency-key": "abc" });
        expect(again.body).toEqual(first.body);
        expect(channel.messages).toHaveLength(1);
      });

      it("hands beforeSend the body and headers, and answers its refusal 403 before anything counts", async () => {
        // A CAPTCHA verifier's stand-in: one token a person got, one header the page adds.
        const seen: { context: HttpSendContext; ip: string | undefined }[] = [];
        const beforeSend: BeforeSend = ({ context, ip }) => {
          const { body, headers } = context as HttpSendContext;
          seen.push({ context: { body, headers }, ip });
          const human = body.captchaToken === "token-of-a-person" && headers["x-page"] === "login";
          return human ? undefined : { refuse: "captcha_failed" };
        };
        const { site, channel } = await start({ otp: { beforeSend } });
        const bot = await site.send(
          { phone: PHONE, captchaToken: "forged" },
          { "x-page": "login" },
        );
        expect(bot.status).toBe(403);
        expect(bot.body).toEqual({
          error: {
            code: "SEND_REFUSED",
            message: "The request for a code was refused.",
            reason: "captcha_failed",
          },
        });
        expect((await site.send({ phone: PHONE })).status).toBe(403);
        // The bot's tries held no cooldown: the person's request goes out at once.
        const person = await site.send(
          { phone: PHONE, captchaToken: "token-of-a-person" },
          { "X-Page": "login", [CLIENT_IP_HEADER]: "203.0.113.5" },
        );
        expect(person.status).toBe(200);
        expect(channel.messages).toHaveLength(1);
        expect(seen.at(-1)).toMatchObject({
          ip: "203.0.113.5",
          context: {
            body: { phone: PHONE, captchaToken: "token-of-a-person" },
            headers: { "x-page": "login", "content-type": "application/json" },
          },
        });
      });

      it("answers a failing beforeSend with 500 BEFORE_SEND_FAILED, and none of its words", async () => {
        const { site, channel } = await start({
          otp: {
            beforeSend: () => {
              throw new Error("siteverify unreachable with secret 0x4AAA");
            },
          },
        });
        const res = await site.send();
        expect(res.status).toBe(500);
        expect(res.body).toEqual({
          error: {
            code: "BEFORE_SEND_FAILED",
            message: "The request could not be checked right now. Try again in a moment.",
          },
        });
        expect(channel.messages).toHaveLength(0);
      });
    });

    describe("bad input", () => {
      it("answers malformed JSON, wrong types, wrong content types and huge bodies with a 4xx code", async () => {
        const { site, channel } = await start();
        const cases: [() => Promise<Answer>, number, string][] = [
          [() => site.raw("{not json"), 400, "INVALID_JSON"],
          [() => site.raw('"just a string"'), 400, "INVALID_JSON"],
          [() => site.raw("[1,2,3]"), 400, "INVALID_BODY"],
          [() => site.raw("null"), 400, "INVALID_JSON"],
          [
            () => site.raw("phone=+14155550101", "application/x-www-form-urlencoded"),
            415,
            "UNSUPPORTED_MEDIA_TYPE",
          ],
          [
            () => site.raw(JSON.stringify({ phone: PHONE }), "text/plain"),
            415,
            "UNSUPPORTED_MEDIA_TYPE",
          ],
          [() => site.call("/otp/send", { method: "POST" }), 415, "UNSUPPORTED_MEDIA_TYPE"],
          [() => site.raw(JSON.stringify({ phone: "1".repeat(5000) })), 413, "PAYLOAD_TOO_LARGE"],
          [() => site.raw(`${"[".repeat(500)}${"]".repeat(500)}`), 400, "INVALID_BODY"],
          [() => site.raw(JSON.stringify({ phone: 14155550101 })), 400, "INVALID_PHONE"],
          [() => site.raw(JSON.stringify({ phone: { $gt: "" } })), 400, "INVALID_PHONE"],
          [
            () => site.raw(JSON.stringify({ phone: PHONE, purpose: ["login"] })),
            400,
            "INVALID_INPUT",
          ],
          [
            () => site.raw("{}", "application/json; charset=latin-9"),
            415,
            "UNSUPPORTED_MEDIA_TYPE",
          ],
          // Compressed bodies are never inflated (a decompression bomb costs nothing to send).
          [
            () =>
              site.call("/otp/send", {
                method: "POST",
                headers: { "content-encoding": "gzip" },
                body: new Uint8Array(gzipSync(JSON.stringify({ phone: PHONE }))),
                type: "application/json",
              }),
            415,
            "UNSUPPORTED_MEDIA_TYPE",
          ],
          // An empty JSON body is an empty object: no phone.
          [() => site.raw(""), 400, "INVALID_PHONE"],
        ];
        for (const [call, status, code] of cases) {
          const res = await call();
          expect({ status: res.status, code: res.body?.error?.code }).toEqual({ status, code });
        }
        const wrongCode = await site.verify({ phone: PHONE, code: "12ab56" });
        expect(wrongCode.status).toBe(400);
        expect(wrongCode.body.error.code).toBe("INVALID_INPUT");
        expect(channel.messages).toHaveLength(0);
      });
    });

    describe("POST /verify", () => {
      it("verifies a code, remembers it in a signed cookie, and answers once", async () => {
        const { site, channel } = await start();
        await site.send();
        const code = channel.lastCode(PHONE) as string;
        const res = await site.verify({ phone: PHONE, code });
        expect(res.status).toBe(200);
        expect(res.body).toEqual({ verified: true, phone: PHONE });
        // `waotp_<purpose>`, signed, HttpOnly, SameSite=Lax, for a day, not Secure over HTTP.
        const login = cookieIn(res, "waotp_login");
        expect(login?.value).toMatch(/^[\w-]+\.[\w-]+$/);
        expect(attributesOf(login)).toEqual({
          "max-age": "86400",
          path: "/",
          httponly: "",
          samesite: "lax",
        });
        // The browser gets a new client id at sign-in.
        const client = cookieIn(res, "waotp_client");
        expect(client?.value).toMatch(/^[\w-]{22}$/);
        expect(client?.attributes).toHaveProperty("httponly");
        const again = await site.verify({ phone: PHONE, code });
        expect(again.status).toBe(400);
        expect(again.body.error.code).toBe("INVALID_CODE");
      });

      it("answers a wrong, an expired and a missing code alike by default, telling the server why", async () => {
        const { site, channel, advance, events } = await start();
        const answers = [];
        answers.push((await site.verify({ phone: PHONE, code: "123456" })).body);
        await site.send();
        const right = channel.lastCode(PHONE) as string;
        answers.push(
          (await site.verify({ phone: PHONE, code: right === "000000" ? "111111" : "000000" }))
            .body,
        );
        advance(301);
        answers.push((await site.verify({ phone: PHONE, code: right })).body);
        expect(new Set(answers.map((a) => JSON.stringify(a))).size).toBe(1);
        expect(answers[0]).toEqual({
          error: { code: "INVALID_CODE", message: expect.stringMatching(/not right/) },
        });
        const reasons = events
          .filter((e) => e.type === "rejected")
          .map((e) => e.type === "rejected" && e.reason);
        expect(reasons).toEqual(["NO_PENDING_CODE", "INVALID_CODE", "EXPIRED"]);
      });

      it("answers a wrong code with 400 INVALID_CODE and the guesses left, then 429", async () => {
        const { site, channel } = await start({
          otp: { limits: { attemptsPerCode: 2 } },
          adapter: { verifyFailures: "precise" },
        });
        await site.send();
        const wrong = channel.lastCode(PHONE) === "000000" ? "111111" : "000000";
        const first = await site.verify({ phone: PHONE, code: wrong });
        expect(first.status).toBe(400);
        expect(first.body.error).toMatchObject({ code: "INVALID_CODE", attemptsLeft: 1 });
        await site.verify({ phone: PHONE, code: wrong });
        const locked = await site.verify({ phone: PHONE, code: channel.lastCode(PHONE) });
        expect(locked.status).toBe(429);
        expect(locked.body.error.code).toBe("TOO_MANY_ATTEMPTS");
        expect(locked.headers.get("retry-after")).toBe("0");
      });

      it("answers EXPIRED and NO_PENDING_CODE with 400 when told to be precise", async () => {
        const { site, channel, advance } = await start({ adapter: { verifyFailures: "precise" } });
        expect((await site.verify({ phone: PHONE, code: "123456" })).body.error.code).toBe(
          "NO_PENDING_CODE",
        );
        await site.send();
        advance(301);
        const res = await site.verify({ phone: PHONE, code: channel.lastCode(PHONE) });
        expect(res.status).toBe(400);
        expect(res.body.error.code).toBe("EXPIRED");
      });

      it("answers the phone's spent failure budget with 429 and its Retry-After", async () => {
        const { site, channel } = await start({
          otp: { limits: { failuresPerPhone: { max: 1 } } },
        });
        await site.send();
        await site.verify({
          phone: PHONE,
          code: "000000" === channel.lastCode(PHONE) ? "111111" : "000000",
        });
        const res = await site.verify({ phone: PHONE, code: channel.lastCode(PHONE) });
        expect(res.status).toBe(429);
        expect(res.headers.get("retry-after")).toBe("86400");
      });

      it("lets onVerified refuse a user before anything is remembered", async () => {
        const { site, channel } = await start({ adapter: { onVerified: () => false } });
        await site.send();
        const res = await site.verify({ phone: PHONE, code: channel.lastCode(PHONE) });
        expect(res.status).toBe(403);
        expect(res.body.error.code).toBe("VERIFICATION_REFUSED");
        expect(res.cookies).toEqual([]);
      });

      it("hands onVerified who verified and the request, then remembers and answers as usual", async () => {
        const seen: unknown[] = [];
        const { site, channel } = await start({
          adapter: {
            onVerified: async (result, request) => {
              // Where the app signs the user in: it sees the request the code came with.
              seen.push({ ...result, user: request.header("x-app-user") });
              return undefined;
            },
          },
        });
        await site.send({ phone: PHONE, purpose: "register" });
        const res = await site.verify(
          { phone: PHONE, code: channel.lastCode(PHONE), purpose: "register" },
          { "X-App-User": "ada" },
        );
        expect(res.status).toBe(200);
        expect(res.body).toEqual({ verified: true, phone: PHONE });
        expect(seen).toEqual([{ phone: PHONE, purpose: "register", user: "ada" }]);
        expect(cookieIn(res, "waotp_register")?.value).toMatch(/^[\w-]+\.[\w-]+$/);
      });
    });

    describe("the browser's client cookie", () => {
      it("is named by clientCookie, and not set at all when it is false", async () => {
        const named = await start({ adapter: { clientCookie: "app_browser" } });
        const res = await named.site.send();
        expect(cookieIn(res, "app_browser")?.value).toMatch(/^[\w-]{22}$/);
        expect(cookieIn(res, "waotp_client")).toBeUndefined();

        const off = await start({ adapter: { clientCookie: false } });
        expect((await off.site.send()).cookies).toEqual([]);
        const signIn = await off.site.verify({
          phone: PHONE,
          code: off.channel.lastCode(PHONE),
        });
        expect(signIn.status).toBe(200);
        expect(signIn.cookies.map((line) => parseSetCookie(line).name)).toEqual(["waotp_login"]);
      });
    });

    describe("POST /webhook/:secret", () => {
      it("applies delivery acks with the right secret", async () => {
        const { site, browser } = await start();
        const asker = browser();
        const { body } = await asker.send({ phone: PHONE });
        const res = await site.post(`/otp/webhook/${WEBHOOK_SECRET}`, {
          instanceId: "1",
          ack: [{ id: body.messageId, status: "delivered" }],
        });
        expect(res.status).toBe(200);
        expect(res.body).toEqual({ updated: 1, ignored: 0 });
        const status = await asker.get(`/otp/status/${body.messageId}`);
        expect(status.body).toMatchObject({ status: "delivered" });
      });

      it("refuses a wrong secret with 401 and a malformed body with 400", async () => {
        const { site } = await start();
        const wrong = await site.post("/otp/webhook/guess", { ack: [] });
        expect(wrong.status).toBe(401);
        expect(wrong.body.error.code).toBe("UNAUTHORIZED");
        const malformed = await site.raw(
          "{oops",
          "application/json",
          `/otp/webhook/${WEBHOOK_SECRET}`,
        );
        expect(malformed.status).toBe(400);
        const notObject = await site.post(`/otp/webhook/${WEBHOOK_SECRET}`, [1, 2]);
        expect(notObject.status).toBe(400);
        expect(notObject.body.error.code).toBe("WEBHOOK_INVALID");
      });

      it("takes a provider's form-encoded callback, checked against the URL it signed", async () => {
        // A Twilio fallback whose create call is answered in process (API-MSG's 201 shape).
        const token = "twilio-contract-token-0123456789";
        const sid = `SM${"ab".repeat(16)}`;
        const sms = twilioSms({
          accountSid: ACCOUNT_SID,
          authToken: token,
          from: "+14155550100",
          fetch: async () => Response.json({ ...CREATED_MESSAGE, sid }, { status: 201 }),
        });
        // A real clock: the client gives up on a send once the code's lifetime is over.
        const { browser, origin } = await start({
          otp: { now: Date.now, delivery: { fallback: sms } },
        });
        const user = browser();
        const sent = await user.send({ phone: PHONE, channel: "sms" });
        expect(sent.body).toMatchObject({ messageId: sid, channel: "twilio-sms" });
        const path = `/otp/webhook/${WEBHOOK_SECRET}`;
        const fields = { ...callback("delivered"), MessageSid: sid, SmsSid: sid };
        const form = new URLSearchParams(fields).toString();
        const type = "application/x-www-form-urlencoded";
        const forged = await user.call(path, { body: form, type });
        expect(forged.body).toEqual({ updated: 0, ignored: 0 });
        const elsewhere = twilioSignature(token, `https://elsewhere.example${path}`, fields);
        const replayed = await user.call(path, {
          body: form,
          type,
          headers: { "x-twilio-signature": elsewhere },
        });
        expect(replayed.body).toEqual({ updated: 0, ignored: 0 });
        expect((await user.get(`/otp/status/${sid}`)).body.status).toBe("accepted");
        const signature = twilioSignature(token, `${origin}${path}`, fields);
        const signed = await user.call(path, {
          body: form,
          type,
          headers: { "x-twilio-signature": signature },
        });
        expect(signed.status).toBe(200);
        expect(signed.body).toEqual({ updated: 1, ignored: 0 });
        expect((await user.get(`/otp/status/${sid}`)).body).toMatchObject({
          status: "delivered",
          channel: "twilio-sms",
        });
        const text = await user.call(path, { body: form, type: "text/plain" });
        expect(text.status).toBe(415);
        // Forms stay a webhook's: send and verify take JSON only.
        const formSend = await user.call("/otp/send", { body: `phone=${PHONE}`, type });
        expect(formSend.status).toBe(415);
      });

      it("is not mounted without a webhook secret", async () => {
        const { site } = await start({ adapter: { webhookSecret: undefined } });
        const res = await site.post("/otp/webhook/anything", { ack: [] });
        expect(res.status).toBe(404);
      });

      it("caps webhook bodies at 256 kB", async () => {
        const { site } = await start();
        const res = await site.raw(
          JSON.stringify({ ack: [], pad: "x".repeat(300_000) }),
          "application/json",
          `/otp/webhook/${WEBHOOK_SECRET}`,
        );
        expect(res.status).toBe(413);
      });
    });

    describe("GET /status/:messageId", () => {
      it("answers 404 NOT_FOUND for an unknown message, and 400 for an id no message has", async () => {
        const { site } = await start();
        for (const id of ["wamid.nope", "w".repeat(200)]) {
          const res = await site.get(`/otp/status/${id}`);
          expect({ status: res.status, code: res.body.error.code }).toEqual({
            status: 404,
            code: "NOT_FOUND",
          });
        }
        const long = await site.get(`/otp/status/${"w".repeat(300)}`);
        expect({ status: long.status, code: long.body.error.code }).toEqual({
          status: 400,
          code: "INVALID_INPUT",
        });
      });

      it("answers a known message's state to the browser that asked for it, and to nobody else", async () => {
        const { site, browser, otp } = await start();
        const asker = browser();
        const { body } = await asker.send({ phone: PHONE });
        const res = await asker.get(`/otp/status/${body.messageId}`);
        expect(res.status).toBe(200);
        expect(res.body).toEqual({
          status: "accepted",
          updatedAt: "2026-01-01T00:00:00.000Z",
          channel: "test",
        });
        // Another browser (or a script with the id alone) learns nothing, not even that it exists.
        expect((await site.get(`/otp/status/${body.messageId}`)).status).toBe(404);
        // Whether it was read, and why a message failed, stay on the server.
        await otp.handleWebhook({ ack: [{ id: body.messageId, status: "read" }] });
        expect((await asker.get(`/otp/status/${body.messageId}`)).body.status).toBe("delivered");
        const failed = await asker.send({ phone: "+14155550102" });
        await otp.handleWebhook({
          ack: [
            {
              id: failed.body.messageId,
              status: "failed",
              error: "(#131026) Message undeliverable",
            },
          ],
        });
        expect((await asker.get(`/otp/status/${failed.body.messageId}`)).body).toEqual({
          status: "failed",
          updatedAt: "2026-01-01T00:00:00.000Z",
          channel: "test",
        });
      });
    });

    describe("limits and setup", () => {
      it("takes send and verify bodies up to 2 kB, or up to bodyLimit, and webhook bodies up to 256 kB", async () => {
        const { site, channel } = await start();
        const send = (bytes: number) => site.raw(sized({ phone: PHONE }, bytes));
        const verify = (bytes: number) =>
          site.raw(
            sized({ phone: PHONE, code: channel.lastCode(PHONE) }, bytes),
            "application/json",
            "/otp/verify",
          );
        const tooLarge = { status: 413, code: "PAYLOAD_TOO_LARGE" };
        const answer = (res: Answer) => ({ status: res.status, code: res.body?.error?.code });
        expect(answer(await send(2049))).toEqual(tooLarge);
        expect(answer(await send(2048))).toEqual({ status: 200, code: undefined });
        expect(answer(await verify(2049))).toEqual(tooLarge);
        expect(answer(await verify(2048))).toEqual({ status: 200, code: undefined });
        const hook = (bytes: number) =>
          site.raw(sized({ ack: [] }, bytes), "application/json", `/otp/webhook/${WEBHOOK_SECRET}`);
        expect((await hook(256 * 1024 + 1)).status).toBe(413);
        expect((await hook(256 * 1024)).status).toBe(200);

        const larger = await start({ adapter: { bodyLimit: 4096 } });
        const big = (bytes: number) => larger.site.raw(sized({ phone: PHONE }, bytes));
        expect(answer(await big(4097))).toEqual(tooLarge);
        expect(answer(await big(4096))).toEqual({ status: 200, code: undefined });
      });

      it("does not use up a code it could not remember", async () => {
        const { site, channel, otp } = await start({ adapter: { secret: undefined } });
        await site.send();
        const res = await site.verify({ phone: PHONE, code: channel.lastCode(PHONE) });
        expect(res.status).toBe(500);
        expect(res.body.error.code).toBe("CONFIG_INVALID");
        const code = channel.lastCode(PHONE) as string;
        expect((await otp.verify({ phone: PHONE, code })).ok).toBe(true);
      });
    });

    describe("the core's HTTP contract", () => {
      it("is what every failure answers: its status, body and Retry-After", async () => {
        const { site, channel, otp } = await start();
        const seen = async (pending: Promise<Answer>) => {
          const res = await pending;
          return {
            status: res.status,
            body: res.body,
            retryAfter: res.headers.get("retry-after") ?? undefined,
          };
        };
        const expected = (answer: HttpAnswer) => ({
          status: answer.status,
          body: answer.body,
          retryAfter: answer.headers["Retry-After"],
        });
        const cases: [() => Promise<Answer>, HttpAnswer][] = [
          [() => site.call("/otp/send", { method: "POST" }), errorAnswer("UNSUPPORTED_MEDIA_TYPE")],
          [() => site.raw("{not json"), errorAnswer("INVALID_JSON")],
          [() => site.raw("[1]"), errorAnswer("INVALID_BODY")],
          [
            () => site.raw(JSON.stringify({ phone: "1".repeat(5000) })),
            errorAnswer("PAYLOAD_TOO_LARGE"),
          ],
          [
            () => site.verify({ phone: PHONE, code: "123456" }),
            verifyFailureAnswer({ ok: false, reason: "NO_PENDING_CODE" }),
          ],
          [
            () => site.raw("{}", "application/json", "/otp/webhook/not-the-secret"),
            errorAnswer("UNAUTHORIZED"),
          ],
          [() => site.get("/otp/status/wamid.none"), errorAnswer("NOT_FOUND")],
        ];
        for (const [call, answer] of cases) expect(await seen(call())).toEqual(expected(answer));

        channel.failNext(new Error("1MSG refused token tok_123"));
        expect(await seen(site.send())).toEqual(
          expected(thrownAnswer(new OtpError("SEND_FAILED", "1MSG refused token tok_123"))),
        );
        // A refused send: the adapter answers what the core's contract makes of the engine's error.
        expect((await site.send({ phone: "+14155550102" })).status).toBe(200);
        let refused: unknown;
        await otp.send({ phone: "+14155550102" }).catch((error: unknown) => {
          refused = error;
        });
        expect(await seen(site.send({ phone: "+14155550102" }))).toEqual(
          expected(thrownAnswer(refused)),
        );
      });
    });
  });
}
