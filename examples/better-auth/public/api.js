// Talks to better-auth's endpoints with fetch; in an app, better-auth's client does the same
// (`authClient.whatsappOtp.*` from @waotp/better-auth/client, `authClient.twoFactor.*`).

export const $ = (id) => document.getElementById(id);

export async function call(path, body) {
  const response = await fetch(`/api/auth${path}`, {
    method: body ? "POST" : "GET",
    headers: body ? { "content-type": "application/json" } : {},
    body: body ? JSON.stringify(body) : undefined,
  });
  const data = await response.json().catch(() => null);
  if (!response.ok) throw data ?? { message: "Request failed" };
  return data;
}

/** Shows a message to the user, an error unless `done` (an empty one clears it). */
export function say(text, done = false) {
  $("message").textContent = text;
  $("message").className = done ? "done" : "";
}

const WRONG_CODE =
  "That code isn't right, or it's no longer valid. Check it, or ask for a new one.";

/** The user's words for an error answer: the plugin's messages are written for users already. */
export function explain(error) {
  if (error?.code === "INVALID_CODE" || error?.code === "INVALID_OTP") return WRONG_CODE;
  return error?.message || "Something went wrong. Try again.";
}

/** Runs `handler` on the form's submit (or the button's click), showing any error. */
export function on(id, handler) {
  const element = $(id);
  element.addEventListener(element.tagName === "FORM" ? "submit" : "click", async (event) => {
    event.preventDefault();
    say("");
    try {
      await handler();
    } catch (error) {
      say(explain(error));
    }
  });
}

/** What a send answered, in words: WhatsApp, or SMS when WhatsApp could not reach the number. */
export function sentBy(sent) {
  return sent.channel.includes("sms")
    ? `WhatsApp can't reach ${sent.phoneNumber}: we sent the code by SMS.`
    : `We sent a code to ${sent.phoneNumber} on WhatsApp.`;
}

/** Shows one of the page's sections: "signed-out", "reset" or "me". */
export function showSection(id) {
  for (const section of ["signed-out", "reset", "me"]) $(section).hidden = section !== id;
}
