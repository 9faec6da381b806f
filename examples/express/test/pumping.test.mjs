/**
 * OTP pumping against the demo, over HTTP, with the limits and the tripwire it ships. Two attackers
 * each ask for a code to a fresh number of one leased range every second, each request from a new
 * address (X-Forwarded-For, which the demo trusts from loopback): one range of a busy country
 * (+1 415 555 2xxx, US), one of an expensive country nobody here signs in from (+998 90 123 0xxx,
 * UZ). As with real pumped numbers, none of them has WhatsApp, so each code goes by SMS, the
 * fallback, the dearest message there is. Meanwhile real users in other ranges and countries ask for a code every two seconds, read it
 * off the simulated phone and type it in, four in five of them.
 *
 * The demo's clock is injected (`otpOptions.now`, read by the engine, the metrics and the tripwire
 * alike) so ten minutes of traffic play in seconds, and the simulator is told which numbers have
 * no WhatsApp; the limits and the tripwire are the demo's own.
 */
import { FAILING_PHONES } from "@waotp/core/simulator";
import { afterEach, describe, expect, it } from "vitest";
import { startDemo } from "../src/main.mjs";

const SECONDS = 600;
/** Real users' countries, in turn: half of them American, none from the pumped UZ. */
const ROTATION = ["US", "GB", "US", "DE", "US", "BR", "US", "IN", "US", "FR"];
const US_AREAS = ["212", "312", "617", "206", "303"];

/** The `n`th real user of `country`: numbers of several ranges, none of the pumped ones. */
function normalPhone(country, n) {
  const i = String(n).padStart(2, "0");
  switch (country) {
    case "US":
      return `+1${US_AREAS[n % US_AREAS.length]}555${1000 + n}`;
    case "GB":
      return `+4474001100${i}`;
    case "DE":
      return `+4915123456${100 + n}`;
    case "BR":
      return `+55119876541${i}`;
    case "IN":
      return `+9198765430${i}`;
    default:
      return `+336123450${i}`;
  }
}

const pumpedPhones = {
  US: (t) => `+1415555${2000 + t}`,
  UZ: (t) => `+998901230${String(t).padStart(3, "0")}`,
};

/** A client with its own address and cookies, JSON in and out. */
function client(base, ip) {
  const cookies = new Map();
  return async (method, path, body) => {
    const response = await fetch(`${base}${path}`, {
      method,
      headers: {
        "x-forwarded-for": ip,
        ...(body === undefined ? {} : { "content-type": "application/json" }),
        cookie: [...cookies].map(([k, v]) => `${k}=${v}`).join("; "),
      },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    for (const header of response.headers.getSetCookie()) {
      const [pair] = header.split(";");
      const [name, value] = pair.split("=");
      cookies.set(name, value);
    }
    return { status: response.status, body: await response.json().catch(() => null) };
  };
}

const address = (prefix, i) => `${prefix}.${(i >> 8) & 255}.${i & 255}`;

const running = [];
afterEach(async () => {
  while (running.length > 0) await running.pop().close();
});

describe("OTP pumping against the demo, on its defaults", () => {
  it("stops a pumped range and a pumped country, and refuses no real user", async () => {
    const clock = { now: Date.now() };
    const lines = [];
    const noWhatsApp = [];
    for (let t = 0; t < SECONDS; t++) noWhatsApp.push(pumpedPhones.US(t), pumpedPhones.UZ(t));
    const demo = await startDemo(
      { PORT: "0" },
      (line) => lines.push(line),
      { now: () => clock.now },
      { failingPhones: { refused: [FAILING_PHONES.refused, ...noWhatsApp] } },
    );
    running.push(demo);

    const pumped = {
      US: { tried: 0, through: 0, refusals: {} },
      UZ: { tried: 0, through: 0, refusals: {} },
    };
    const normal = { users: 0, refused: [], verified: 0 };
    let ips = 0;

    for (let t = 0; t < SECONDS; t++) {
      for (const country of ["US", "UZ"]) {
        const call = client(demo.url, address("198.18", ++ips));
        const answer = await call("POST", "/otp/send", { phone: pumpedPhones[country](t) });
        const stats = pumped[country];
        stats.tried++;
        if (answer.status === 200) {
          expect(answer.body).toMatchObject({ channel: "twilio-sms", fallback: "refused" });
          stats.through++;
        } else {
          const why = `${answer.status} ${answer.body.error.code} ${answer.body.error.limit ?? answer.body.error.reason ?? ""}`;
          stats.refusals[why] = (stats.refusals[why] ?? 0) + 1;
        }
      }

      if (t % 2 === 0) {
        const n = normal.users++;
        const country = ROTATION[n % ROTATION.length];
        const phone = normalPhone(country, rotationCount(country, n));
        const call = client(demo.url, address("100.64", n));
        const sent = await call("POST", "/otp/send", { phone });
        if (sent.status !== 200) {
          normal.refused.push({ phone, status: sent.status, error: sent.body?.error });
        } else if (n % 5 !== 4) {
          // The user reads the code off the phone, and types it.
          const inbox = await call("GET", `/api/inbox?phone=${encodeURIComponent(phone)}`);
          const code = inbox.body.messages.at(-1)?.code;
          const verified = await call("POST", "/otp/verify", { phone, code });
          if (verified.status === 200) normal.verified++;
          else normal.refused.push({ phone, status: verified.status, error: verified.body?.error });
        }
      }
      clock.now += 1000;
    }

    const tried = pumped.US.tried + pumped.UZ.tried;
    const through = pumped.US.through + pumped.UZ.through;
    // The operator page's figures; the SMS bill is the pumped codes' alone (real users got WhatsApp).
    const view = await (await fetch(`${demo.url}/admin/api/metrics`)).json();
    const bill = view.metrics.cost.channels["twilio-sms"];
    console.log(
      `pumping the demo over ${SECONDS} simulated seconds: ${tried} pumped sends attempted, ${through} got through ` +
        `(${pumped.US.through} of ${pumped.US.tried} to +1 415 555 before the range window, ` +
        `${pumped.UZ.through} of ${pumped.UZ.tried} to UZ before the tripwire paused it; ` +
        `SMS bill ${bill.toFixed(2)} USD at the demo's illustrative prices), ` +
        `${normal.refused.length} of ${normal.users} normal users refused (${normal.verified} signed in)`,
    );

    expect(normal.refused).toEqual([]);
    expect(normal.verified).toBe(normal.users - Math.floor(normal.users / 5));
    // The range window: 100 sends an hour to +1 415 555 xxxx, then every one refused.
    expect(pumped.US.through).toBe(100);
    expect(pumped.US.refusals).toEqual({ "429 RATE_LIMITED prefix_window": SECONDS - 100 });
    // The tripwire: 30 settled sends and nobody typing, plus the 30 s still settling.
    expect(pumped.UZ.through).toBeGreaterThanOrEqual(30);
    expect(pumped.UZ.through).toBeLessThanOrEqual(70);
    expect(pumped.UZ.refusals).toEqual({
      "403 SEND_REFUSED country_paused": SECONDS - pumped.UZ.through,
    });
    expect(lines.some((line) => line.startsWith("Tripwire: sends to UZ paused until"))).toBe(true);

    // The operator page's figures say the same.
    expect(view.metrics.limited).toEqual({ prefix_window: SECONDS - 100 });
    expect(view.metrics.refused).toEqual({
      "SEND_REFUSED:country_paused": SECONDS - pumped.UZ.through,
    });
    const uz = view.tripwire.countries.find((c) => c.country === "UZ");
    expect(uz).toMatchObject({ paused: true, refusedWhilePaused: SECONDS - pumped.UZ.through });
    expect(view.tripwire.countries.filter((c) => c.paused).map((c) => c.country)).toEqual(["UZ"]);
    // Every pumped code went by SMS, after 1MSG refused the number; real users' by WhatsApp.
    expect(view.metrics.fallbacks).toEqual({ refused: through });
    expect(view.metrics.countries.UZ).toMatchObject({ fallbacks: pumped.UZ.through, verified: 0 });
    expect(view.metrics.countries.US).toMatchObject({
      sent: rotationCount("US", normal.users),
      fallbacks: 100,
    });
  }, 60_000);

  it("refuses a premium-rate number by default: NUMBER_TYPE_NOT_ALLOWED, 400, nothing sent", async () => {
    const demo = await startDemo({ PORT: "0" }, () => {});
    running.push(demo);
    for (const phone of ["+19002345678", "+1 (900) 234-5678"]) {
      const answer = await client(demo.url, "192.0.2.7")("POST", "/otp/send", { phone });
      expect(answer.status).toBe(400);
      expect(answer.body.error).toMatchObject({
        code: "NUMBER_TYPE_NOT_ALLOWED",
        numberType: "PREMIUM_RATE",
      });
    }
    expect(demo.simulator.inbox("+19002345678")).toEqual([]);
    const view = await (await fetch(`${demo.url}/admin/api/metrics`)).json();
    expect(view.metrics.refused).toEqual({ NUMBER_TYPE_NOT_ALLOWED: 2 });
    expect(view.metrics.totals.sent).toBe(0);
  });
});

/** How many of the first `users` real users came from `country`. */
function rotationCount(country, users) {
  let count = 0;
  for (let n = 0; n < users; n++) if (ROTATION[n % ROTATION.length] === country) count++;
  return count;
}
