// The page: signed out, it offers sign-in (sign-in.js) and the password reset (password-reset.js);
// signed in, the number change (phone-change.js) and two-factor (two-factor.js).
import { $, call, on, showSection } from "./api.js";
import { watchInbox } from "./inbox.js";
import { setupPasswordReset } from "./password-reset.js";
import { setupPhoneChange, showPhoneChange } from "./phone-change.js";
import { setupSignIn } from "./sign-in.js";
import { setupTwoFactor, showTwoFactor } from "./two-factor.js";

let email = "";

/** Reads the session again and shows what fits it. */
async function refresh() {
  const session = await call("/get-session").catch(() => null);
  for (const form of document.forms) form.reset();
  $("email").value = email; // the last account's, for a password sign-in after a reset or sign-out
  for (const id of ["verify", "second-factor", "reset-confirm", "change-verify", "two-factor-on"])
    $(id).hidden = true;
  if (!session) {
    showSection("signed-out");
    return;
  }
  const { user } = session;
  // A credential account means a password: it can confirm a number change and sign in by email.
  const accounts = await call("/list-accounts").catch(() => []);
  const hasPassword = accounts.some((a) => a.providerId === "credential");
  $("who").textContent = user.phoneNumber ?? user.email;
  $("my-email").textContent = user.email;
  email = user.email;
  showPhoneChange(user, hasPassword);
  showTwoFactor(user, hasPassword);
  showSection("me");
}

setupSignIn(refresh);
setupPasswordReset(refresh);
setupPhoneChange(refresh);
setupTwoFactor(refresh);
on("signout", async () => {
  await call("/sign-out", {});
  await refresh();
});
watchInbox();
refresh();
