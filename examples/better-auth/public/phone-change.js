// Changing the number of a signed-in user: a code to the new number (purpose "verify-phone"), and
// proof from the owner of the current one, a code to it (purpose "change-phone") or the password.
import { $, call, on, say, sentBy } from "./api.js";
import { checkInbox } from "./inbox.js";

let current = null;
let hasPassword = false;

/** Called with the signed-in user, and whether the account has a password. */
export function showPhoneChange(user, withPassword) {
  current = user.phoneNumber ?? null;
  hasPassword = withPassword;
  $("use-password-label").hidden = !current || !hasPassword;
}

export function setupPhoneChange(refresh) {
  let next = "";
  let proof = "none"; // "code" or "password" when there is a current number to move from

  on("change-send", async () => {
    proof = !current ? "none" : $("use-password").checked ? "password" : "code";
    const sent = await call("/whatsapp-otp/send", {
      phoneNumber: $("new-phone").value,
      purpose: "verify-phone",
    });
    next = sent.phoneNumber;
    if (proof === "code") {
      await call("/whatsapp-otp/send", { phoneNumber: current, purpose: "change-phone" });
    }
    for (const [id, shown] of [
      ["current-code", proof === "code"],
      ["current-password", proof === "password"],
    ]) {
      $(id).hidden = !shown;
      $(`${id}-label`).hidden = !shown;
      $(id).required = shown;
    }
    say(proof === "code" ? `${sentBy(sent)} Another went to ${current}.` : sentBy(sent), true);
    $("change-verify").hidden = false;
    $("new-phone-code").focus();
    checkInbox();
  });

  on("change-verify", async () => {
    await call("/whatsapp-otp/verify-phone", {
      phoneNumber: next,
      code: $("new-phone-code").value,
      ...(proof === "code" ? { currentCode: $("current-code").value } : {}),
      ...(proof === "password" ? { currentPassword: $("current-password").value } : {}),
    });
    await refresh();
    say(`Your number is now ${next}. Your other sessions were signed out.`, true);
  });
}
