const $ = (id) => document.getElementById(id);

async function post(path, body) {
  const response = await fetch(path, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify(body),
  });
  const data = await response.json();
  if (!response.ok) throw data.error ?? {};
  return data;
}

async function show() {
  const response = await fetch("/api/me");
  const me = response.ok ? await response.json() : null;
  $("account").hidden = !me;
  $("signin").hidden = Boolean(me);
  if (me) $("me").textContent = me.phone;
}

$("signin").addEventListener("submit", async (event) => {
  event.preventDefault();
  $("error").textContent = "";
  const phone = $("phone").value;
  try {
    if ($("code-step").hidden) {
      const sent = await post("/api/send", { phone });
      $("phone").value = sent.phone;
      $("code-step").hidden = false;
      $("submit").textContent = "Sign in";
      $("code").focus();
      const inbox = await fetch(`/api/inbox?phone=${encodeURIComponent(sent.phone)}`);
      if (inbox.ok) $("whatsapp").textContent = (await inbox.json()).text ?? "";
    } else {
      await post("/api/login", { phone, code: $("code").value });
      await show();
    }
  } catch (error) {
    $("error").textContent = error.message ?? error.reason ?? "Something went wrong.";
  }
});

$("logout").addEventListener("click", async () => {
  await post("/api/logout", {});
  location.reload();
});

show();
