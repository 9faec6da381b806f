import { randomBytes } from "node:crypto";
import { serve } from "@hono/node-server";
import { getConnInfo } from "@hono/node-server/conninfo";
import { createOtp } from "@waotp/core";
import { channelFromEnv, isLoopbackHost } from "@waotp/core/simulator";
import { otpHandler, requireOtp } from "@waotp/core/web";
import { Hono } from "hono";

const esc = (text) => String(text).replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

/** Starts the Hono example; resolves with its URL, the simulator (if any) and `close()`. */
export async function startExample(env = process.env, log = console.log) {
  const { channel, simulator } = await channelFromEnv(env);
  const secret = env.WAOTP_SECRET || randomBytes(32).toString("hex");
  const otp = createOtp({ secret, channel });

  // The client's address, as the Node server saw the connection (behind a proxy, read the
  // proxy's header instead, and only from the proxy).
  const addresses = new WeakMap();
  const otpRoutes = otpHandler(otp, { secret, clientIp: (request) => addresses.get(request) });
  // A sign-in is a remembered "login" verification, good for a day.
  const signedIn = requireOtp({ purpose: "login", anyPhone: true, maxAgeSeconds: 86_400, secret });

  const app = new Hono();
  app.all("/otp/*", (c) => {
    addresses.set(c.req.raw, getConnInfo(c).remote.address);
    return otpRoutes(c.req.raw);
  });
  app.get("/account", async (c) => {
    const check = await signedIn(c.req.raw);
    if (!check.ok) return check.response;
    return c.html(
      page(
        "Your account",
        `<p>Signed in as <strong>${esc(check.verification.phone)}</strong>.</p>`,
      ),
    );
  });
  // In simulator mode, the simulated phone shows what it received (only on this machine).
  app.get("/simulated-inbox", (c) => {
    // Only to requests that name this machine: a loopback bind does not stop DNS rebinding.
    if (!simulator || !isLoopbackHost(c.req.header("host"))) return c.json([]);
    return c.json(simulator.inbox(c.req.query("phone") ?? "").map((m) => m.text));
  });
  app.get("/", (c) => c.html(page("Sign in with WhatsApp", SIGN_IN)));

  const server = await new Promise((resolve) => {
    const host = simulator ? "127.0.0.1" : undefined;
    const started = serve(
      { fetch: app.fetch, port: Number(env.PORT ?? 3004), hostname: host },
      () => resolve(started),
    );
  });
  const url = `http://localhost:${server.address().port}`;
  log(
    simulator
      ? `waotp Hono example on ${url} (simulator mode: no ONEMSG_TOKEN, so codes go to the embedded 1MSG simulator)`
      : `waotp Hono example on ${url} (1MSG mode)`,
  );
  return {
    url,
    simulator,
    close: async () => {
      await new Promise((resolve) => server.close(resolve));
      await simulator?.close();
    },
  };
}

const page = (title, body) => `<!doctype html><html lang="en"><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1"><title>${esc(title)}</title>
<style>body{font:16px/1.5 system-ui,sans-serif;max-width:26rem;margin:3rem auto;padding:0 1rem}
label{display:block;font-weight:600;margin:.8rem 0 .3rem}input,button{font:inherit;width:100%;padding:.6rem;box-sizing:border-box}
button{margin-top:.8rem;background:#008069;color:#fff;border:0;border-radius:8px}.error{color:#b3261e}
.whatsapp{background:#efeae2;padding:.7rem;border-radius:8px}</style><h1>${esc(title)}</h1>${body}</html>`;

// The page talks to the JSON routes of otpHandler; the verify answer sets the signed cookie.
const SIGN_IN = `<form id="send"><label for="phone">Phone number</label>
<input id="phone" type="tel" autocomplete="tel" placeholder="+1 415 555 0101" required autofocus>
<button>Send code</button></form>
<form id="verify" hidden><label for="code">Code</label>
<input id="code" autocomplete="one-time-code" inputmode="numeric" maxlength="6" required>
<button>Sign in</button></form>
<p class="whatsapp" id="inbox" hidden></p><p class="error" role="alert" id="error"></p>
<script type="module">
const $ = (id) => document.getElementById(id);
const post = (path, body) => fetch(path, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(body) });
$("send").onsubmit = async (event) => {
  event.preventDefault();
  const answer = await post("/otp/send", { phone: $("phone").value });
  const body = await answer.json();
  $("error").textContent = answer.ok ? "" : body.error.message;
  if (!answer.ok && body.error.delivery !== "unknown") return;
  $("send").hidden = true; $("verify").hidden = false; $("code").focus();
  const inbox = await (await fetch("/simulated-inbox?phone=" + encodeURIComponent(body.phone ?? $("phone").value))).json();
  if (inbox.length) { $("inbox").hidden = false; $("inbox").textContent = inbox.at(-1); }
};
$("verify").onsubmit = async (event) => {
  event.preventDefault();
  const answer = await post("/otp/verify", { phone: $("phone").value, code: $("code").value });
  if (answer.ok) location.href = "/account";
  else $("error").textContent = (await answer.json()).error.message;
};
</script>`;

if (import.meta.url === `file://${process.argv[1]}`) {
  const example = await startExample();
  process.once("SIGINT", () => example.close().then(() => process.exit(0)));
}
