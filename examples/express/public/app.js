// The demo page: phone, then code, then a signed-in page with a step-up action. No dependencies.
const $ = (id) => document.getElementById(id);
const state = {
  expiresAt: 0,
  phone: "",
  messageId: "",
  purpose: "login",
  resendAt: 0,
  codeLength: 6,
  simulator: false,
  timers: [],
  // The channel that carries the current code ("whatsapp" or "sms"), and what the page says of it.
  via: "whatsapp",
  note: "",
  // The SMS fallback, when the server has one: { channel, offerAfterSeconds }.
  sms: null,
  offerTimer: 0,
};

// Why the code went by SMS, as the send or status answer tells it.
const NOTES = {
  refused: "This number can't get WhatsApp messages, so we sent your code by SMS.",
  requested: "We sent a new code by SMS. Use that one: the WhatsApp code no longer works.",
  failed: "WhatsApp couldn't deliver the message, so we sent a new code by SMS.",
  timeout: "WhatsApp hasn't confirmed delivery, so we sent a new code by SMS.",
};

const MESSAGES = {
  INVALID_PHONE: () =>
    "That doesn't look like a phone number. Include the country code, like +1 415 555 0101.",
  COUNTRY_NOT_ALLOWED: () => "Codes can't be sent to numbers in that country.",
  RATE_LIMITED: (e) =>
    ({
      phone_cooldown: `You can ask for a new code in ${wait(e.retryAfter)}.`,
      phone_window: `Too many codes for this number. Try again in ${wait(e.retryAfter)}.`,
      phone_failures: `Too many wrong codes for this number. Try again in ${wait(e.retryAfter)}.`,
      ip_window: `Too many codes from your network. Try again in ${wait(e.retryAfter)}.`,
      fallback_window: `Too many SMS codes for this number. Try again in ${wait(e.retryAfter)}.`,
      prefix_window: `Too many codes to numbers like this one. Try again in ${wait(e.retryAfter)}.`,
      country_window: `Too many codes to this country. Try again in ${wait(e.retryAfter)}.`,
    })[e.limit] ?? `Too many codes right now. Try again in ${wait(e.retryAfter)}.`,
  NUMBER_TYPE_NOT_ALLOWED: () =>
    "Codes can't be sent to premium-rate or shared-cost numbers. Use your mobile number.",
  SEND_REFUSED: (e) =>
    e.reason === "country_paused"
      ? "Codes to numbers in this country are paused for now. Try again later."
      : "We can't send a code right now. Try again later.",
  SEND_FAILED: (e) =>
    e.delivery === "unknown"
      ? "WhatsApp didn't confirm the message, but it may still arrive: its code will work."
      : "WhatsApp didn't take the message. Try again in a moment.",
  STORE_UNAVAILABLE: () => "The service is briefly unavailable. Try again in a moment.",
  INVALID_CODE: (e) =>
    e.attemptsLeft === undefined
      ? "That code isn't right, or it's no longer valid. Check it, or ask for a new one."
      : e.attemptsLeft > 0
        ? `That code isn't right. ${e.attemptsLeft} ${e.attemptsLeft === 1 ? "try" : "tries"} left.`
        : "That code isn't right, and that was the last try. Ask for a new code.",
  EXPIRED: () => "That code has expired. Ask for a new one.",
  NO_PENDING_CODE: () => "There's no code waiting for this number. Ask for a new one.",
  TOO_MANY_ATTEMPTS: (e) =>
    e.retryAfter
      ? `Too many wrong codes. Try again in ${wait(e.retryAfter)}.`
      : "Too many wrong codes. Ask for a new code.",
  INVALID_INPUT: () => `Enter the ${state.codeLength} digits from the message.`,
  IDEMPOTENCY_CONFLICT: () => "That request is already on its way.",
  INVALID_JSON: () => "The request was garbled. Reload the page and try again.",
  PAYLOAD_TOO_LARGE: () => "That's too long.",
  STEP_UP_REQUIRED: () => "Confirm with a new code to continue.",
  SIGNED_OUT: () => "You're signed out. Sign in again.",
  NETWORK: () => "Can't reach the server. Check your connection and try again.",
};

function wait(seconds = 60) {
  if (seconds >= 7200) return `${Math.ceil(seconds / 3600)} hours`;
  return seconds >= 120 ? `${Math.ceil(seconds / 60)} minutes` : `${seconds} s`;
}

function explain(error) {
  return (MESSAGES[error.code] ?? (() => error.message || "Something went wrong."))(error);
}

async function api(method, path, body) {
  let response;
  try {
    response = await fetch(path, {
      method,
      headers: body ? { "content-type": "application/json" } : {},
      body: body ? JSON.stringify(body) : undefined,
      credentials: "same-origin",
    });
  } catch {
    throw { code: "NETWORK" };
  }
  const data = await response.json().catch(() => ({}));
  if (!response.ok) throw { status: response.status, ...(data.error ?? { code: "NETWORK" }) };
  return data;
}

function show(step) {
  for (const id of ["phone-step", "code-step", "account"]) $(id).hidden = id !== step;
}

function setError(id, message) {
  $(id).textContent = message ?? "";
  const input = id === "phone-error" ? $("phone") : $("code");
  input.setAttribute("aria-invalid", message ? "true" : "false");
}

function clearTimers() {
  for (const timer of state.timers) clearInterval(timer);
  state.timers = [];
  hideOffer();
}

// Sending

const isSms = (channel) => state.sms !== null && channel === state.sms.channel;

/** Sends a code: through WhatsApp, or by SMS when `channel` is "sms" (the user asked for it). */
async function sendCode(event, channel) {
  event?.preventDefault();
  const phone =
    state.purpose === "login" && channel === undefined ? $("phone").value.trim() : state.phone;
  if (!phone) return setError("phone-error", "Enter your phone number.");
  setError("phone-error");
  const button =
    channel === "sms" ? $("send-sms") : state.purpose === "login" ? $("send") : $("resend");
  button.disabled = true;
  try {
    const sent = await api("POST", "/otp/send", {
      phone,
      purpose: state.purpose,
      locale: $("locale").value,
      ...(channel === undefined ? {} : { channel }),
    });
    state.phone = sent.phone;
    state.messageId = sent.messageId;
    state.via = isSms(sent.channel) ? "sms" : "whatsapp";
    state.note = NOTES[sent.fallback] ?? "";
    state.resendAt = Date.parse(sent.resendAt);
    state.expiresAt = Date.parse(sent.expiresAt);
    openCodeStep();
  } catch (error) {
    if (error.code === "SIGNED_OUT") return signedOut();
    if (error.code === "SEND_FAILED" && error.delivery === "unknown") {
      // The message may be on its way: wait for it on the code step, resend after the cooldown.
      state.phone = phone;
      state.messageId = "";
      state.via = channel === "sms" ? "sms" : "whatsapp";
      state.note = "";
      state.resendAt = Date.now() + (error.retryAfter ?? 60) * 1000;
      openCodeStep();
      return setError("code-error", explain(error));
    }
    if (channel === "sms") return setError("code-error", explain(error));
    if (state.purpose === "step-up" && $("code-step").hidden) {
      // Step-up from the account page: show the code step, waiting for the resend to open.
      state.messageId = "";
      openCodeStep();
    }
    const target = $("code-step").hidden ? "phone-error" : "code-error";
    if (error.code === "RATE_LIMITED" && target === "code-error") {
      state.resendAt = Date.now() + (error.retryAfter ?? 60) * 1000;
      clearTimers();
      countdown();
    }
    setError(target, explain(error));
  } finally {
    if (state.purpose === "login") $("send").disabled = false;
    $("send-sms").disabled = false;
  }
}

function openCodeStep() {
  show("code-step");
  $("sent-to").textContent = state.phone;
  $("sent-via").textContent = state.via === "sms" ? "by SMS" : "on WhatsApp";
  showNote(state.note);
  $("title").textContent = state.purpose === "login" ? "Sign in with WhatsApp" : "Confirm it's you";
  $("change-number").hidden = state.purpose !== "login";
  $("cancel").hidden = state.purpose === "login";
  $("code").value = "";
  setError("code-error");
  $("code").focus();
  clearTimers();
  if (state.messageId) trackDelivery();
  else $("delivery").textContent = "";
  countdown();
  if (state.simulator) refreshInbox();
}

function countdown() {
  const tick = () => {
    const left = Math.ceil((state.resendAt - Date.now()) / 1000);
    $("resend").disabled = left > 0;
    $("resend").textContent = left > 0 ? `Resend code in ${left} s` : "Resend code";
  };
  tick();
  state.timers.push(setInterval(tick, 1000));
}

const NOT_DELIVERED = "Not delivered. Check the number; ask for a new code when the button opens.";
const STATUS_TEXT = {
  accepted: ["✓", "Sending…", ""],
  sent: ["✓", "Sent", ""],
  delivered: ["✓✓", "Delivered", ""],
  read: ["✓✓", "Read", "read"],
  failed: ["!", NOT_DELIVERED, "failed"],
  undelivered: ["!", NOT_DELIVERED, "failed"],
};
const FAILED = ["failed", "undelivered"];
const ARRIVED = ["delivered", "read"];

/**
 * Follows the current message's delivery. When the server hands the code to SMS (the WhatsApp
 * message failed, or timed out), the status names the SMS message and the page follows that one.
 */
function trackDelivery() {
  const until = state.expiresAt;
  let failedPolls = 0;
  const render = (status) => {
    const [ticks, text, tone] = STATUS_TEXT[status] ?? STATUS_TEXT.accepted;
    const smsAhead = state.via === "whatsapp" && state.sms !== null && FAILED.includes(status);
    const line = $("delivery");
    line.replaceChildren();
    const mark = document.createElement("span");
    mark.className = `ticks ${tone}`;
    mark.setAttribute("aria-hidden", "true");
    mark.textContent = ticks;
    const channel = state.via === "sms" ? "SMS" : "WhatsApp message";
    line.append(mark, ` ${channel}: ${smsAhead ? "Not delivered." : text}`);
  };
  render("accepted");
  if (state.via === "whatsapp") offerSmsLater();
  const poll = async () => {
    const id = state.messageId;
    if (!id || Date.now() > until) return clearInterval(timer);
    try {
      const answer = await api("GET", `/otp/status/${encodeURIComponent(id)}`);
      if (id !== state.messageId) return;
      const { status, fallback } = answer;
      if (fallback && state.via === "whatsapp") {
        state.messageId = fallback.messageId;
        state.via = "sms";
        hideOffer();
        $("sent-via").textContent = "by SMS";
        showNote(FAILED.includes(status) ? NOTES.failed : NOTES.timeout);
        render("accepted");
      } else {
        render(status);
        if (ARRIVED.includes(status)) hideOffer();
        // A failed WhatsApp message may be handed to SMS by the server in a moment; offer the
        // button if that does not happen.
        if (FAILED.includes(status) && state.via === "whatsapp" && ++failedPolls >= 2) {
          showOffer("WhatsApp couldn't deliver the message.");
        }
        const done = ARRIVED.includes(status) || (FAILED.includes(status) && state.via === "sms");
        if (done || (FAILED.includes(status) && state.sms === null)) clearInterval(timer);
      }
    } catch {
      // Keep the last known state; the next poll may get through.
    }
    if (state.simulator) refreshInbox();
  };
  const timer = setInterval(poll, 1000);
  state.timers.push(timer);
  poll();
}

// The SMS fallback the user can ask for

/** Offers "Send by SMS instead" when WhatsApp has not delivered within the server's wait. */
function offerSmsLater() {
  if (state.sms === null || state.sms.offerAfterSeconds === false) return;
  clearTimeout(state.offerTimer);
  state.offerTimer = setTimeout(
    () => showOffer("No WhatsApp message yet?"),
    state.sms.offerAfterSeconds * 1000,
  );
}

function showOffer(text) {
  if (state.sms === null || state.via !== "whatsapp" || $("code-step").hidden) return;
  $("sms-offer").hidden = false;
  // Set after showing: the text is a status region, so the change is announced.
  if ($("sms-offer-text").textContent !== text) $("sms-offer-text").textContent = text;
}

function hideOffer() {
  clearTimeout(state.offerTimer);
  $("sms-offer").hidden = true;
  $("sms-offer-text").textContent = "";
}

function showNote(text) {
  // Shown before it is filled in: the text is a status region, so the change is announced.
  $("channel-note").hidden = !text;
  $("channel-note").textContent = text;
}

// Verifying

async function verifyCode(event) {
  event?.preventDefault();
  const code = $("code").value.replace(/\D/g, "");
  if (code.length !== state.codeLength) return setError("code-error", MESSAGES.INVALID_INPUT());
  $("verify").disabled = true;
  try {
    await api("POST", "/otp/verify", { phone: state.phone, code, purpose: state.purpose });
    clearTimers();
    state.messageId = "";
    if (state.purpose === "step-up") {
      state.purpose = "login";
      await showAccount();
      await transfer();
    } else {
      await showAccount();
    }
  } catch (error) {
    if (error.code === "SIGNED_OUT") return signedOut();
    setError("code-error", explain(error));
    $("code").select();
  } finally {
    $("verify").disabled = false;
  }
}

function onCodeInput() {
  const input = $("code");
  const digits = input.value.replace(/\D/g, "").slice(0, state.codeLength);
  if (digits !== input.value) input.value = digits;
  setError("code-error");
  if (digits.length === state.codeLength) verifyCode();
}

// Signed in

async function showAccount() {
  const me = await api("GET", "/api/me");
  if (!me.signedIn) throw { code: "SIGNED_OUT" };
  state.phone = me.phone;
  $("me").textContent = me.phone;
  $("title").textContent = "Your account";
  $("transfer-result").textContent = "";
  show("account");
  $("transfer").focus();
}

async function transfer() {
  const result = $("transfer-result");
  result.classList.remove("bad");
  try {
    const done = await api("POST", "/api/transfer", {});
    result.textContent = done.message;
  } catch (error) {
    if (error.code === "STEP_UP_REQUIRED") {
      state.purpose = "step-up";
      return sendCode();
    }
    if (error.code === "SIGNED_OUT") return signedOut();
    result.classList.add("bad");
    result.textContent = explain(error);
  }
}

async function logout() {
  await api("POST", "/api/logout", {}).catch(() => {});
  signedOut();
}

/** Back to the start from wherever the page was: logout here, or a session that ended elsewhere. */
function signedOut() {
  clearTimers();
  Object.assign(state, { phone: "", messageId: "", purpose: "login", via: "whatsapp", note: "" });
  shown = "";
  $("chat").replaceChildren(emptyChat());
  $("title").textContent = "Sign in with WhatsApp";
  show("phone-step");
  setError("phone-error");
  $("phone").focus();
}

// The simulated phone (simulator mode only)

const COPY_ICON =
  '<svg viewBox="0 0 24 24" aria-hidden="true"><path fill="currentColor" d="M16 1H4a2 2 0 0 0-2 2v14h2V3h12V1zm3 4H8a2 2 0 0 0-2 2v14a2 2 0 0 0 2 2h11a2 2 0 0 0 2-2V7a2 2 0 0 0-2-2zm0 16H8V7h11v14z"/></svg>';
let shown = "";

async function refreshInbox() {
  if (!state.phone) return;
  const { messages } = await api(
    "GET",
    `/api/inbox?phone=${encodeURIComponent(state.phone)}`,
  ).catch(() => ({
    messages: [],
  }));
  const key = messages.map((m) => `${m.id}:${m.status}`).join(",");
  if (key === shown) return;
  shown = key;
  const chat = $("chat");
  chat.replaceChildren();
  if (messages.length === 0) chat.append(emptyChat());
  for (const message of messages) chat.append(bubble(message));
}

function emptyChat() {
  const empty = document.createElement("li");
  empty.className = "empty";
  empty.textContent = "Messages sent to your number appear here.";
  return empty;
}

function bubble(message) {
  const sms = message.channel === "sms";
  const item = document.createElement("li");
  item.className = sms ? "bubble sms" : "bubble";
  if (sms) {
    const tag = document.createElement("span");
    tag.className = "tag";
    tag.textContent = `SMS from ${message.from}`;
    item.append(tag);
  }
  const text = document.createElement("p");
  text.textContent = message.text;
  const meta = document.createElement("span");
  meta.className = "meta";
  meta.textContent = new Date(message.at).toLocaleTimeString([], {
    hour: "2-digit",
    minute: "2-digit",
  });
  item.append(text, meta);
  if (!message.code) return item;
  // WhatsApp shows the template's copy-code button; a phone offers to copy a code it spots in an SMS.
  const name = sms ? "Copy code" : message.button;
  const copy = document.createElement("button");
  copy.type = "button";
  copy.className = "copy";
  copy.innerHTML = COPY_ICON;
  const label = document.createElement("span");
  label.textContent = name;
  copy.append(label);
  copy.setAttribute(
    "aria-label",
    `${name}: copy the code from this ${sms ? "SMS" : "WhatsApp message"}`,
  );
  copy.addEventListener("click", async () => {
    await copyText(message.code);
    copy.classList.add("copied");
    copy.querySelector("span").textContent = "Copied";
    setTimeout(() => {
      copy.classList.remove("copied");
      copy.querySelector("span").textContent = name;
    }, 1500);
  });
  item.append(copy);
  return item;
}

/** "+14155550150" as people write it: "+1 415 555 0150" (North American numbers only). */
function spaced(phone) {
  const match = /^\+1(\d{3})(\d{3})(\d{4})$/.exec(phone);
  return match ? `+1 ${match[1]} ${match[2]} ${match[3]}` : phone;
}

async function copyText(text) {
  try {
    await navigator.clipboard.writeText(text);
  } catch {
    const area = document.createElement("textarea");
    area.value = text;
    document.body.append(area);
    area.select();
    document.execCommand("copy");
    area.remove();
  }
}

// Start

async function start() {
  $("phone-step").addEventListener("submit", sendCode);
  $("code-step").addEventListener("submit", verifyCode);
  $("code").addEventListener("input", onCodeInput);
  // A resend goes the way the current code went.
  $("resend").addEventListener("click", () =>
    sendCode(undefined, state.via === "sms" ? "sms" : undefined),
  );
  $("send-sms").addEventListener("click", () => sendCode(undefined, "sms"));
  $("cancel").addEventListener("click", () => {
    clearTimers();
    state.purpose = "login";
    showAccount().catch(() => signedOut());
  });
  $("change-number").addEventListener("click", () => {
    clearTimers();
    show("phone-step");
    $("phone").focus();
  });
  $("transfer").addEventListener("click", transfer);
  $("logout").addEventListener("click", logout);

  const demo = await api("GET", "/api/demo").catch(() => ({ mode: "1msg", codeLength: 6 }));
  state.codeLength = demo.codeLength;
  state.simulator = demo.mode === "simulator";
  state.sms = demo.sms ?? null;
  if (demo.failingPhones) {
    // The simulator's numbers without WhatsApp: one click puts one in the phone field.
    for (const [id, phone] of [
      ["try-refused", demo.failingPhones.refused],
      ["try-failed", demo.failingPhones.failed],
    ]) {
      $(id).textContent = spaced(phone);
      $(id).addEventListener("click", () => {
        $("phone").value = spaced(phone);
        $("phone").focus();
      });
    }
    $("try-fallback").hidden = false;
  }
  $("operator").hidden = !demo.operatorUrl;
  $("code").maxLength = demo.codeLength;
  $("mode").hidden = false;
  $("mode").textContent = state.simulator ? "simulator" : "live";
  $("device").hidden = !state.simulator;
  try {
    await showAccount();
  } catch {
    show("phone-step");
    $("phone").focus();
  }
}

start();
