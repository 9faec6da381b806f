// Password reset by WhatsApp code: whatsapp-otp/request-password-reset, then reset-password with
// the code and the new password. It signs every session out, so the user signs in again with it.
import { $, call, on, say, showSection } from "./api.js";
import { checkInbox } from "./inbox.js";

export function setupPasswordReset(refresh) {
  let phone = "";

  // Signed out: "Forgot password?". Signed in: the same flow, for the account's own number.
  on("forgot", async () => {
    $("reset-phone").value = $("phone").value;
    showSection("reset");
  });
  on("set-password", async () => {
    $("reset-phone").value = $("who").textContent;
    showSection("reset");
  });
  on("reset-back", refresh);

  on("reset-request", async () => {
    phone = $("reset-phone").value;
    // The same answer whether or not the number has an account; only an account's number gets a code.
    await call("/whatsapp-otp/request-password-reset", { phoneNumber: phone });
    $("reset-confirm").hidden = false;
    $("reset-code").focus();
    checkInbox();
  });

  on("reset-confirm", async () => {
    await call("/whatsapp-otp/reset-password", {
      phoneNumber: phone,
      code: $("reset-code").value,
      newPassword: $("new-password").value,
    });
    await refresh();
    say("Your password is set. Sign in with your email and the new password.", true);
    $("password").focus();
  });
}
