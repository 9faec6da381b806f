// WhatsApp as better-auth's second factor (its twoFactor plugin, codes sent by
// whatsappTwoFactorOtp): on after a first code arrives, then asked for after the password.
import { $, call, on, say } from "./api.js";
import { checkInbox } from "./inbox.js";

/** Called with the signed-in user, and whether the account has a password. */
export function showTwoFactor(user, hasPassword) {
  const possible = hasPassword && user.phoneNumberVerified === true;
  $("two-factor-state").textContent = user.twoFactorEnabled
    ? "On: a password sign-in also asks for a code sent to your WhatsApp."
    : possible
      ? "Off. When on, a password sign-in also asks for a code sent to your WhatsApp."
      : "Off. It protects password sign-in: set a password first.";
  $("two-factor-send").hidden = user.twoFactorEnabled || !possible;
  $("two-factor-off").hidden = !user.twoFactorEnabled;
}

export function setupTwoFactor(refresh) {
  // Turning it on proves the codes arrive: better-auth enables it on the first right code.
  on("two-factor-send", async () => {
    await call("/two-factor/send-otp", {});
    $("two-factor-on").hidden = false;
    $("two-factor-code").focus();
    checkInbox();
  });

  on("two-factor-on", async () => {
    await call("/two-factor/verify-otp", { code: $("two-factor-code").value });
    await refresh();
    say("Two-factor is on.", true);
  });

  on("two-factor-off", async () => {
    await call("/two-factor/disable", { password: $("two-factor-password").value });
    await refresh();
    say("Two-factor is off.", true);
  });
}
