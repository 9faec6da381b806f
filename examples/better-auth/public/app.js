// Talks to better-auth's endpoints directly; in an app, `authClient.whatsappOtp.*` does the same.
const $ = (id) => document.getElementById(id);
let phone = "";

async function call(path, body) {
  const response = await fetch(`/api/auth${path}`, {
    method: body ? "POST" : "GET",
    headers: body ? { "content-type": "application/json" } : {},
    body: body ? JSON.stringify(body) : undefined,
  });
  const data = await response.json().catch(() => null);
  if (!response.ok) throw data ?? { message: "Request failed" };
  return data;
}

async function refresh() {
  const session = await call("/get-session").catch(() => null);
  $("me").hidden = !session;
  $("send").hidden = Boolean(session);
  $("verify").hidden = true;
  if (session) {
    $("who").textContent = session.user.phoneNumber;
    $("uid").textContent = session.user.id;
  }
}

$("send").addEventListener("submit", async (event) => {
  event.preventDefault();
  $("message").textContent = "";
  try {
    const sent = await call("/whatsapp-otp/send", { phoneNumber: $("phone").value });
    phone = sent.phoneNumber;
    $("verify").hidden = false;
    $("code").focus();
    const inbox = await fetch(`/demo/inbox?phone=${encodeURIComponent(phone)}`).then((r) =>
      r.ok ? r.json() : null,
    );
    const last = inbox?.messages.at(-1);
    $("inbox").textContent = last ? `Simulated WhatsApp: ${last.text}` : "";
  } catch (error) {
    $("message").textContent = error.message ?? "Could not send the code.";
  }
});

$("verify").addEventListener("submit", async (event) => {
  event.preventDefault();
  try {
    await call("/whatsapp-otp/verify", { phoneNumber: phone, code: $("code").value });
    await refresh();
  } catch (error) {
    $("message").textContent =
      error.code === "INVALID_CODE"
        ? "That code isn't right, or it's no longer valid. Check it, or ask for a new one."
        : (error.message ?? "Failed.");
  }
});

$("signout").addEventListener("click", async () => {
  await call("/sign-out", {});
  await refresh();
});

refresh();
