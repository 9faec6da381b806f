// Sign-in: by a WhatsApp code (whatsapp-otp/send, then verify), or by email and password, which
// asks for a WhatsApp code as well when the user turned two-factor on.
import { $, call, on, sentBy } from "./api.js";
import { checkInbox } from "./inbox.js";

export function setupSignIn(refresh) {
  let phone = "";

  on("send", async () => {
    const sent = await call("/whatsapp-otp/send", { phoneNumber: $("phone").value });
    phone = sent.phoneNumber;
    $("sent-by").textContent = sentBy(sent);
    $("verify").hidden = false;
    $("code").focus();
    checkInbox();
  });

  on("verify", async () => {
    await call("/whatsapp-otp/verify", { phoneNumber: phone, code: $("code").value });
    await refresh();
  });

  on("password-sign-in", async () => {
    const signedIn = await call("/sign-in/email", {
      email: $("email").value,
      password: $("password").value,
    });
    if (!signedIn.twoFactorRedirect) return refresh();
    // No session yet: better-auth set a short-lived two-factor cookie. The code goes to the
    // account's verified number.
    await call("/two-factor/send-otp", {});
    $("second-factor").hidden = false;
    $("second-factor-code").focus();
    checkInbox();
  });

  on("second-factor", async () => {
    await call("/two-factor/verify-otp", { code: $("second-factor-code").value });
    await refresh();
  });
}
