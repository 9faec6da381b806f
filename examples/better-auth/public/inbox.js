// The simulated phones: what the 1MSG simulator delivered, WhatsApp and SMS (simulator mode only).
import { $ } from "./api.js";

let timer;

export async function checkInbox() {
  const response = await fetch("/demo/inbox").catch(() => null);
  if (!response?.ok) {
    clearInterval(timer); // 1MSG mode: real phones get the codes
    return;
  }
  const { messages } = await response.json();
  $("simulated").hidden = false;
  $("inbox").replaceChildren(
    ...messages.map((m) => {
      const item = document.createElement("li");
      item.className = m.channel;
      const to = document.createElement("span");
      to.textContent = `${m.channel === "sms" ? "SMS" : "WhatsApp"} to ${m.phone}`;
      const text = document.createElement("p");
      text.textContent = m.text;
      item.append(to, text);
      return item;
    }),
  );
}

export function watchInbox() {
  checkInbox();
  timer = setInterval(checkInbox, 1500);
}
