import { describe, expect, it } from "vitest";
import { PHONE_GB, PHONE_US, PHONE_US_2, setup, wrong } from "../test/helpers.js";
import type { OtpError } from "./errors.js";

async function refusal(promise: Promise<unknown>): Promise<OtpError> {
  const error = await promise.then(
    () => {
      throw new Error("expected a refusal");
    },
    (e: unknown) => e,
  );
  return error as OtpError;
}

/** `count` distinct valid US numbers. */
function phones(count: number): string[] {
  return Array.from({ length: count }, (_, i) => `+1415555${String(1000 + i).padStart(4, "0")}`);
}

describe("sends per phone", () => {
  it("holds a 60 s cooldown between two sends to one phone, and says when to come back", async () => {
    const t = setup();
    await t.otp.send({ phone: PHONE_US });
    t.advance(45);
    const error = await refusal(t.otp.send({ phone: PHONE_US }));
    expect(error).toMatchObject({ code: "RATE_LIMITED", status: 429, retryAfter: 15 });
    expect(error.toJSON()).toEqual({
      error: {
        code: "RATE_LIMITED",
        message: "A code was just sent to this phone. Try again in 15 s.",
        retryAfter: 15,
        limit: "phone_cooldown",
      },
    });
    t.advance(15);
    await t.otp.send({ phone: PHONE_US });
    // Other phones are not held back.
    await t.otp.send({ phone: PHONE_US_2 });
    expect(t.channel.messages).toHaveLength(3);
  });

  it("allows 5 sends per phone in 10 minutes, then refuses until the window ends", async () => {
    const t = setup();
    const sent = [];
    for (let i = 0; i < 5; i++) {
      sent.push(await t.otp.send({ phone: PHONE_US }));
      t.advance(60);
    }
    // The fifth send already says the next one waits for the window, not just the cooldown.
    expect(sent[4]?.resendAt).toEqual(new Date(t.now() - 300_000 + 600_000));
    const error = await refusal(t.otp.send({ phone: PHONE_US }));
    expect(error).toMatchObject({
      code: "RATE_LIMITED",
      retryAfter: 300,
      details: { limit: "phone_window" },
    });
    t.advance(299);
    expect(await refusal(t.otp.send({ phone: PHONE_US }))).toMatchObject({ retryAfter: 1 });
    t.advance(1);
    await t.otp.send({ phone: PHONE_US });
    expect(t.channel.messages).toHaveLength(6);
  });

  it("does not count refused sends", async () => {
    const t = setup({ limits: { sendsPerIp: { max: 2 } } });
    const ip = "203.0.113.9";
    await t.otp.send({ phone: PHONE_US, ip });
    for (let i = 0; i < 10; i++) {
      await expect(t.otp.send({ phone: PHONE_US, ip })).rejects.toMatchObject({
        details: { limit: "phone_cooldown" },
      });
    }
    // The IP was charged only for the send that went out: one more fits, then it is full.
    await t.otp.send({ phone: PHONE_US_2, ip });
    await expect(t.otp.send({ phone: PHONE_GB, ip })).rejects.toMatchObject({
      details: { limit: "ip_window" },
    });
  });

  it("keeps to one send out of many concurrent ones to the same phone", async () => {
    const t = setup();
    const results = await Promise.allSettled(
      Array.from({ length: 25 }, () => t.otp.send({ phone: PHONE_US })),
    );
    expect(results.filter((r) => r.status === "fulfilled")).toHaveLength(1);
    expect(t.channel.messages).toHaveLength(1);
  });

  it("can be turned off", async () => {
    const t = setup({ limits: { sendsPerPhone: false } });
    for (let i = 0; i < 12; i++) await t.otp.send({ phone: PHONE_US });
    expect(t.channel.messages).toHaveLength(12);
  });
});

describe("sends per IP", () => {
  it("allows 20 sends from one IPv4 address in 10 minutes", async () => {
    const t = setup();
    const targets = phones(21);
    for (const phone of targets.slice(0, 20)) await t.otp.send({ phone, ip: "198.51.100.7" });
    const error = await refusal(t.otp.send({ phone: targets[20] as string, ip: "198.51.100.7" }));
    expect(error).toMatchObject({
      code: "RATE_LIMITED",
      retryAfter: 600,
      details: { limit: "ip_window" },
    });
    // Another address, and the IPv4-mapped form of it, are another client.
    await t.otp.send({ phone: targets[20] as string, ip: "198.51.100.8" });
    expect(await refusal(t.otp.send({ phone: PHONE_GB, ip: "::ffff:198.51.100.7" }))).toMatchObject(
      { details: { limit: "ip_window" } },
    );
    t.advance(600);
    await t.otp.send({ phone: PHONE_GB, ip: "198.51.100.7" });
  });

  it("counts every address of one IPv6 /64 as one client", async () => {
    const t = setup();
    const targets = phones(22);
    for (let i = 0; i < 20; i++) {
      await t.otp.send({
        phone: targets[i] as string,
        ip: `2001:db8:1234:5678:${i.toString(16)}::1`,
      });
    }
    const error = await refusal(
      t.otp.send({ phone: targets[20] as string, ip: "2001:db8:1234:5678:ffff:ffff:ffff:ffff" }),
    );
    expect(error.details).toEqual({ limit: "ip_window" });
    // The next /64 is another client.
    await t.otp.send({ phone: targets[20] as string, ip: "2001:db8:1234:5679::1" });
  });

  it("counts every send whose client is unknown in one shared bucket: the 21st is refused", async () => {
    // A server that cannot see addresses (a Unix socket, a proxy not trusted, a reset connection)
    // passes no ip: that must not mean no limit.
    const t = setup();
    const targets = phones(22);
    for (const [i, phone] of targets.slice(0, 20).entries()) {
      await t.otp.send({ phone, ...(i % 2 === 0 ? {} : { ip: null }) });
    }
    const error = await refusal(t.otp.send({ phone: targets[20] as string }));
    expect(error).toMatchObject({ code: "RATE_LIMITED", details: { limit: "ip_window" } });
    // Clients with an address are not held by the unknown ones.
    await t.otp.send({ phone: targets[21] as string, ip: "198.51.100.7" });
  });

  it("refuses sends without a client address when told to, before counting or sending", async () => {
    const t = setup({ limits: { sendsPerIp: { unknownIp: "refuse" } } });
    const error = await refusal(t.otp.send({ phone: PHONE_US }));
    expect(error).toMatchObject({ code: "CLIENT_UNKNOWN", status: 403 });
    expect(error.message).toMatch(/set up to read it/);
    expect(t.channel.messages).toHaveLength(0);
    // Nothing was counted: the same phone can get a code at once from a known client.
    await t.otp.send({ phone: PHONE_US, ip: "198.51.100.7" });
  });

  it("follows a configured prefix and cap", async () => {
    const t = setup({ limits: { sendsPerIp: { max: 2, ipv6PrefixLength: 48 } } });
    const [a, b, c] = phones(3) as [string, string, string];
    await t.otp.send({ phone: a, ip: "2001:db8:1::1" });
    await t.otp.send({ phone: b, ip: "2001:db8:1:ffff::1" });
    await expect(t.otp.send({ phone: c, ip: "2001:db8:1:abcd::9" })).rejects.toMatchObject({
      code: "RATE_LIMITED",
    });
  });
});

describe("global budget", () => {
  it("is off by default", async () => {
    const t = setup();
    const targets = phones(60);
    for (const [i, phone] of targets.entries()) await t.otp.send({ phone, ip: `192.0.2.${i}` });
    expect(t.channel.messages).toHaveLength(60);
  });

  it("caps sends for the whole app per window when set", async () => {
    const t = setup({ limits: { globalSends: { max: 3 } } });
    const targets = phones(4);
    for (const phone of targets.slice(0, 3)) await t.otp.send({ phone });
    const error = await refusal(t.otp.send({ phone: targets[3] as string }));
    expect(error).toMatchObject({ retryAfter: 3600, details: { limit: "global_window" } });
    t.advance(3600);
    await t.otp.send({ phone: targets[3] as string });
  });
});

describe("country allowlist", () => {
  it("is off by default", async () => {
    const t = setup();
    await t.otp.send({ phone: "+49 30 901820" });
    expect(t.channel.messages).toHaveLength(1);
  });

  it("sends only to the listed regions and calling codes", async () => {
    const t = setup({ limits: { countries: ["US", "+44"] } });
    await t.otp.send({ phone: PHONE_US });
    await t.otp.send({ phone: PHONE_GB });
    for (const phone of ["+49 30 901820", "+1 416 555 0123"]) {
      await expect(t.otp.send({ phone })).rejects.toMatchObject({
        code: "COUNTRY_NOT_ALLOWED",
        status: 400,
      });
    }
    expect(t.channel.messages).toHaveLength(2);
  });

  it("takes a calling code for all the regions that share it", async () => {
    const t = setup({ limits: { countries: ["1"] } });
    await t.otp.send({ phone: "+1 416 555 0123" });
    await t.otp.send({ phone: PHONE_US });
    expect(t.channel.messages).toHaveLength(2);
  });
});

describe("failures per client", () => {
  it("stops one client spreading wrong guesses over many phones: 20 per 10 minutes", async () => {
    const t = setup({ limits: { sendsPerIp: false } });
    const targets = phones(25);
    for (const phone of targets) await t.otp.send({ phone });
    const reasons = [];
    for (const phone of targets) {
      const result = await t.otp.verify({ phone, code: wrong(t.code(phone)), ip: "198.51.100.7" });
      reasons.push(result.ok ? "ok" : result.reason);
    }
    expect(reasons.filter((r) => r === "INVALID_CODE")).toHaveLength(20);
    expect(reasons.slice(20)).toEqual(Array(5).fill("TOO_MANY_ATTEMPTS"));
    expect(t.events.at(-2)).toMatchObject({ type: "limited", limit: "ip_failures" });
    // Another client, and the right code from anyone, are not held by it.
    const last = targets[24] as string;
    expect(
      await t.otp.verify({ phone: last, code: wrong(t.code(last)), ip: "198.51.100.8" }),
    ).toMatchObject({ reason: "INVALID_CODE" });
    t.advance(600);
    const first = targets[0] as string;
    await t.otp.send({ phone: first });
    expect((await t.otp.verify({ phone: first, code: t.code(first), ip: "198.51.100.7" })).ok).toBe(
      true,
    );
  });
});

describe("known clients under attack from their own network", () => {
  it("keep verifying and sending while strangers behind the same address use up its budgets", async () => {
    const t = setup();
    const nat = "198.51.100.7";
    const owner = { phone: PHONE_US, client: "owner", ip: nat };
    await t.otp.send(owner);
    expect((await t.otp.verify({ ...owner, code: t.code(PHONE_US) })).ok).toBe(true);
    // Strangers on the same carrier NAT spend its send window (the owner's first send was one of
    // its 20) and its failure budget.
    const targets = phones(20);
    for (const phone of targets.slice(0, 19)) await t.otp.send({ phone, ip: nat });
    for (const phone of targets.slice(0, 19)) {
      await t.otp.verify({ phone, code: wrong(t.code(phone)), ip: nat });
    }
    const first = targets[0] as string;
    await t.otp.verify({ phone: first, code: wrong(t.code(first)), ip: nat });
    expect(await refusal(t.otp.send({ phone: targets[19] as string, ip: nat }))).toMatchObject({
      details: { limit: "ip_window" },
    });
    expect(await t.otp.verify({ phone: first, code: t.code(first), ip: nat })).toMatchObject({
      reason: "TOO_MANY_ATTEMPTS",
    });
    // The owner still gets a code, and its fresh code's first guess is judged.
    t.advance(60);
    await t.otp.send(owner);
    expect((await t.otp.verify({ ...owner, code: t.code(PHONE_US) })).ok).toBe(true);
  });

  it("are not looked up for a client made for the very request, and only a boolean says so", async () => {
    const t = setup();
    const reads: string[] = [];
    const get = t.store.get.bind(t.store);
    t.store.get = (key, now) => {
      reads.push(key);
      return get(key, now);
    };
    await t.otp.send({ phone: PHONE_US, client: "new-browser", clientIsNew: true });
    expect(reads.filter((key) => key.startsWith("known:"))).toEqual([]);
    expect(
      (await t.otp.verify({ phone: PHONE_US, client: "new-browser", code: t.code(PHONE_US) })).ok,
    ).toBe(true);
    // Known now: its next send is looked up and bound to it, outside the phone's cooldown.
    reads.length = 0;
    await t.otp.send({ phone: PHONE_US, client: "new-browser" });
    expect(reads.filter((key) => key.startsWith("known:"))).toHaveLength(1);
    // Told new by mistake, a known client is treated as a stranger: the phone's shared cooldown.
    expect(
      await refusal(t.otp.send({ phone: PHONE_US, client: "new-browser", clientIsNew: true })),
    ).toMatchObject({ details: { limit: "phone_cooldown" } });
    await expect(
      t.otp.send({ phone: PHONE_US_2, client: "x", clientIsNew: "yes" as unknown as boolean }),
    ).rejects.toMatchObject({ code: "INVALID_INPUT", details: { field: "clientIsNew" } });
  });

  it("never make a client id planted before sign-in known: the adapter's next id is", async () => {
    const t = setup();
    const planted = { phone: PHONE_US, client: "planted-by-attacker" };
    await t.otp.send(planted);
    const signIn = await t.otp.verify({
      ...planted,
      code: t.code(PHONE_US),
      nextClient: "fresh-after-sign-in",
    });
    expect(signIn.ok).toBe(true);
    // The planted id is still a stranger: it shares the phone's cooldown.
    expect(await refusal(t.otp.send(planted))).toMatchObject({
      details: { limit: "phone_cooldown" },
    });
    // The fresh id is known: its own cooldown, free now.
    await t.otp.send({ phone: PHONE_US, client: "fresh-after-sign-in" });
  });

  it("forget the id a sign-in replaces: a copy of the old cookie is a stranger again", async () => {
    const t = setup();
    await t.otp.send({ phone: PHONE_US, client: "first" });
    await t.otp.verify({
      phone: PHONE_US,
      client: "first",
      code: t.code(PHONE_US),
      nextClient: "second",
    });
    t.advance(60);
    await t.otp.send({ phone: PHONE_US, client: "second" });
    await t.otp.verify({
      phone: PHONE_US,
      client: "second",
      code: t.code(PHONE_US),
      nextClient: "third",
    });
    // "second" was known, and is not any more: it shares the phone's cooldown with strangers.
    await t.otp.send({ phone: PHONE_US });
    expect(await refusal(t.otp.send({ phone: PHONE_US, client: "second" }))).toMatchObject({
      details: { limit: "phone_cooldown" },
    });
    await t.otp.send({ phone: PHONE_US, client: "third" });
  });

  it("stay known to every phone they signed in to when a sign-in gives them a new id", async () => {
    const t = setup();
    await t.otp.send({ phone: PHONE_US, client: "v1" });
    await t.otp.verify({ phone: PHONE_US, client: "v1", code: t.code(PHONE_US), nextClient: "v2" });
    await t.otp.send({ phone: PHONE_GB, client: "v2" });
    await t.otp.verify({ phone: PHONE_GB, client: "v2", code: t.code(PHONE_GB), nextClient: "v3" });
    // v3 is known to both phones: a stranger's send holds neither phone's cooldown against it.
    t.advance(60);
    await t.otp.send({ phone: PHONE_US });
    await t.otp.send({ phone: PHONE_US, client: "v3" });
    await t.otp.send({ phone: PHONE_GB });
    await t.otp.send({ phone: PHONE_GB, client: "v3" });
  });

  it("keep each known client's spared guesses its own: an old id cannot spend the owner's", async () => {
    const t = setup({ limits: { sendsPerPhone: { cooldownSeconds: 0, max: 1000 } } });
    for (const id of ["shared-pc", "own-phone"]) {
      await t.otp.send({ phone: PHONE_US, client: id });
      await t.otp.verify({ phone: PHONE_US, client: id, code: t.code(PHONE_US) });
    }
    for (let i = 0; i < 4; i++) {
      await t.otp.send({ phone: PHONE_US });
      for (let g = 0; g < 5; g++)
        await t.otp.verify({ phone: PHONE_US, code: wrong(t.code(PHONE_US)) });
    }
    // Whoever kept the shared PC's id spends all its spared guesses...
    for (let i = 0; i < 12; i++) {
      await t.otp.send({ phone: PHONE_US, client: "shared-pc" });
      await t.otp.verify({ phone: PHONE_US, client: "shared-pc", code: wrong(t.code(PHONE_US)) });
    }
    // ...and the owner's own browser still signs in.
    await t.otp.send({ phone: PHONE_US, client: "own-phone" });
    expect(
      (await t.otp.verify({ phone: PHONE_US, client: "own-phone", code: t.code(PHONE_US) })).ok,
    ).toBe(true);
  });

  it("spare at most 10 wrong guesses a day for known clients once the phone's budget is full", async () => {
    const t = setup({ limits: { sendsPerPhone: { cooldownSeconds: 0, max: 1000 } } });
    const known = { phone: PHONE_US, client: "known" };
    await t.otp.send(known);
    await t.otp.verify({ ...known, code: t.code(PHONE_US) });
    // Strangers fill the phone's budget.
    for (let i = 0; i < 4; i++) {
      await t.otp.send({ phone: PHONE_US });
      for (let g = 0; g < 5; g++)
        await t.otp.verify({ phone: PHONE_US, code: wrong(t.code(PHONE_US)) });
    }
    const outcomes = [];
    for (let i = 0; i < 12; i++) {
      await t.otp.send(known);
      const result = await t.otp.verify({ ...known, code: wrong(t.code(PHONE_US)) });
      outcomes.push(result.ok ? "ok" : result.reason);
    }
    expect(outcomes).toEqual([
      ...Array(10).fill("INVALID_CODE"),
      "TOO_MANY_ATTEMPTS",
      "TOO_MANY_ATTEMPTS",
    ]);
  });

  it("share one ceiling of sends to a phone, four times its window, however many there are", async () => {
    const t = setup({ limits: { sendsPerPhone: { cooldownSeconds: 0, max: 2 } } });
    const clients = ["a", "b", "c", "d", "e"].map((c) => ({ phone: PHONE_US, client: c }));
    // Five sign-ins, two per window of the phone's shared window.
    for (const [i, client] of clients.entries()) {
      await t.otp.send(client);
      await t.otp.verify({ ...client, code: t.code(PHONE_US) });
      if (i % 2 === 1) t.advance(600);
    }
    t.advance(600);
    // Each known client has its own window of 2, but the phone takes 8 (4 x 2) in all.
    const answers = [];
    for (const client of [...clients, ...clients]) {
      answers.push(
        await t.otp.send(client).then(
          () => "sent",
          (e: OtpError) => e.details?.limit,
        ),
      );
    }
    expect(answers.filter((a) => a === "sent")).toHaveLength(8);
    expect(answers.slice(8)).toEqual(["phone_window", "phone_window"]);
  });
});

describe("failures per phone", () => {
  it("holds in any 24 h, not per calendar window: no burst at a window's edge", async () => {
    const t = setup({ limits: { sendsPerPhone: false } });
    await t.otp.send({ phone: PHONE_US });
    await t.otp.verify({ phone: PHONE_US, code: wrong(t.code(PHONE_US)) });
    t.advance(86_400 - 240);
    const judgedPerCode: number[] = [];
    for (let round = 0; round < 10; round++) {
      await t.otp.send({ phone: PHONE_US });
      const code = t.code(PHONE_US);
      let judged = 0;
      for (let i = 0; i < 5; i++) {
        const result = await t.otp.verify({ phone: PHONE_US, code: wrong(code) });
        if (!result.ok && result.reason === "INVALID_CODE") judged += 1;
      }
      judgedPerCode.push(judged);
      t.advance(60);
    }
    // 19 fit before the first guess leaves the window, then exactly one more as it does.
    expect(judgedPerCode).toEqual([5, 5, 5, 4, 1, 0, 0, 0, 0, 0]);
  });

  it("allows 20 wrong guesses per phone per 24 h across codes: a resend does not reset it", async () => {
    const t = setup();
    let guesses = 0;
    // Four codes, five wrong guesses each, with waits that respect the send limits.
    for (let round = 0; round < 4; round++) {
      await t.otp.send({ phone: PHONE_US });
      const code = t.code(PHONE_US);
      for (let i = 0; i < 5; i++) {
        const result = await t.otp.verify({ phone: PHONE_US, code: wrong(code) });
        expect(result).toMatchObject({ reason: "INVALID_CODE" });
        guesses += 1;
      }
      t.advance(600);
    }
    expect(guesses).toBe(20);
    const windowStartedAt = t.now() - 4 * 600_000;

    // A full budget never stops sends, but no guess is judged, not even the right code's.
    await t.otp.send({ phone: PHONE_US });
    expect(await t.otp.verify({ phone: PHONE_US, code: t.code(PHONE_US) })).toEqual({
      ok: false,
      reason: "TOO_MANY_ATTEMPTS",
      retryAfter: (windowStartedAt + 86_400_000 - t.now()) / 1000,
    });
    expect(t.events.at(-2)).toMatchObject({ type: "limited", limit: "phone_failures" });

    // The end of the window restores the budget.
    t.advance((windowStartedAt + 86_400_000 - t.now()) / 1000);
    await t.otp.send({ phone: PHONE_US });
    expect((await t.otp.verify({ phone: PHONE_US, code: t.code(PHONE_US) })).ok).toBe(true);
  });

  it("refuses even the right code on a code that already took a wrong guess once the budget is spent", async () => {
    const t = setup({
      limits: { failuresPerPhone: { max: 3 }, sendsPerPhone: false },
    });
    await t.otp.send({ phone: PHONE_US });
    const first = t.code(PHONE_US);
    await t.otp.verify({ phone: PHONE_US, code: wrong(first) });
    await t.otp.verify({ phone: PHONE_US, code: wrong(first) });
    // A resend gives a fresh code, but the phone's budget goes on, and attemptsLeft says so.
    await t.otp.send({ phone: PHONE_US });
    const second = t.code(PHONE_US);
    expect(await t.otp.verify({ phone: PHONE_US, code: wrong(second) })).toMatchObject({
      reason: "INVALID_CODE",
      attemptsLeft: 0,
    });
    expect(await t.otp.verify({ phone: PHONE_US, code: second })).toEqual({
      ok: false,
      reason: "TOO_MANY_ATTEMPTS",
      retryAfter: 86_400,
    });
  });

  it("lets the owner's browser in with a fresh code while strangers hold the budget full", async () => {
    // The stranger's 4-minute lockout: 20 wrong guesses at codes of their own, from fresh clients.
    const t = setup({ limits: { sendsPerPhone: { cooldownSeconds: 60, max: 100 } } });
    const owner = { phone: PHONE_US, client: "owner-browser", ip: "198.51.100.77" };
    await t.otp.send(owner);
    expect((await t.otp.verify({ ...owner, code: t.code(PHONE_US) })).ok).toBe(true);
    for (let i = 0; i < 4; i++) {
      const stranger = { phone: PHONE_US, client: `stranger-${i}`, ip: `203.0.113.${i}` };
      t.advance(60);
      await t.otp.send(stranger);
      const code = t.code(PHONE_US);
      for (let g = 0; g < 5; g++) await t.otp.verify({ ...stranger, code: wrong(code) });
    }
    // A stranger's own fresh code gets no guess at all now...
    const late = { phone: PHONE_US, client: "stranger-late", ip: "203.0.113.99" };
    t.advance(60);
    await t.otp.send(late);
    expect(await t.otp.verify({ ...late, code: t.code(PHONE_US) })).toMatchObject({
      reason: "TOO_MANY_ATTEMPTS",
    });
    // ...while the owner gets a code at once (the strangers' sends neither hold the owner's
    // cooldown nor fill the owner's window) and its first guess is judged.
    await t.otp.send(owner);
    const code = t.code(PHONE_US);
    expect(await t.otp.verify({ ...owner, code: wrong(code) })).toMatchObject({
      reason: "INVALID_CODE",
      attemptsLeft: 0,
    });
    expect(await t.otp.verify({ ...owner, code })).toMatchObject({ reason: "TOO_MANY_ATTEMPTS" });
    t.advance(60);
    await t.otp.send(owner);
    expect((await t.otp.verify({ ...owner, code: t.code(PHONE_US) })).ok).toBe(true);
  });

  it("does not count guesses for another phone", async () => {
    const t = setup({ limits: { failuresPerPhone: { max: 1 } } });
    await t.otp.send({ phone: PHONE_US });
    await t.otp.send({ phone: PHONE_US_2 });
    await t.otp.verify({ phone: PHONE_US, code: wrong(t.code(PHONE_US)) });
    expect((await t.otp.verify({ phone: PHONE_US_2, code: t.code(PHONE_US_2) })).ok).toBe(true);
  });

  it("holds under a flood of concurrent guesses spread over purposes", async () => {
    const t = setup({ limits: { sendsPerPhone: false }, random: () => 123456 });
    const purposes = ["login", "register", "step-up", "a", "b", "c"];
    for (const purpose of purposes) await t.otp.send({ phone: PHONE_US, purpose });
    const results = await Promise.all(
      Array.from({ length: 120 }, (_, i) =>
        t.otp.verify({ phone: PHONE_US, code: "000000", purpose: purposes[i % purposes.length] }),
      ),
    );
    const reasons = results.map((r) => (r.ok ? "ok" : r.reason));
    expect(reasons.filter((r) => r === "INVALID_CODE")).toHaveLength(20);
    expect(reasons.filter((r) => r === "TOO_MANY_ATTEMPTS")).toHaveLength(100);
  });

  it("counts guessers whose address is unknown in one shared budget, as it counts their sends", async () => {
    // An adapter that cannot see addresses (a Web handler without clientIp) must not turn the
    // per-client budget off: every unknown guesser shares one.
    const t = setup({ limits: { sendsPerIp: false } });
    const targets = phones(25);
    for (const phone of targets) await t.otp.send({ phone });
    const reasons = [];
    for (const phone of targets) {
      const result = await t.otp.verify({ phone, code: wrong(t.code(phone)), ip: null });
      reasons.push(result.ok ? "ok" : result.reason);
    }
    expect(reasons.filter((r) => r === "INVALID_CODE")).toHaveLength(20);
    expect(reasons.slice(20)).toEqual(Array(5).fill("TOO_MANY_ATTEMPTS"));
    expect(t.events.at(-2)).toMatchObject({ type: "limited", limit: "ip_failures" });
    // A client whose address is known is not held by the unknown ones.
    const last = targets[24] as string;
    expect(
      await t.otp.verify({ phone: last, code: wrong(t.code(last)), ip: "198.51.100.8" }),
    ).toMatchObject({ reason: "INVALID_CODE" });
  });
});
