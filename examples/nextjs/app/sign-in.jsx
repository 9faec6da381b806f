"use client";

import { useRouter } from "next/navigation";
import { useEffect, useRef, useState } from "react";

const post = (path, body) =>
  fetch(path, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify(body),
  });

/** Phone, then code: the JSON routes of otpHandler; the verify answer sets the signed cookie. */
export function SignIn() {
  const router = useRouter();
  const [phone, setPhone] = useState("");
  const [code, setCode] = useState("");
  const [sent, setSent] = useState(false);
  const [message, setMessage] = useState("");
  const [error, setError] = useState("");
  const codeInput = useRef(null);
  // After "Send code", the cursor goes to the code field.
  useEffect(() => {
    if (sent) codeInput.current?.focus();
  }, [sent]);

  async function send(event) {
    event.preventDefault();
    const answer = await post("/api/otp/send", { phone });
    const body = await answer.json();
    setError(answer.ok ? "" : body.error.message);
    if (!answer.ok && body.error.delivery !== "unknown") return;
    setSent(true);
    // Simulator mode only: what the simulated phone received.
    const inbox = await fetch(
      `/api/simulated-inbox?phone=${encodeURIComponent(body.phone ?? phone)}`,
    );
    setMessage((await inbox.json()).at(-1) ?? "");
  }

  async function verify(event) {
    event.preventDefault();
    const answer = await post("/api/otp/verify", { phone, code });
    if (answer.ok) router.push("/account");
    else setError((await answer.json()).error.message);
  }

  return (
    <>
      {sent ? (
        <form onSubmit={verify}>
          <label htmlFor="code">Code</label>
          <input
            id="code"
            autoComplete="one-time-code"
            inputMode="numeric"
            maxLength={6}
            required
            ref={codeInput}
            value={code}
            onChange={(event) => setCode(event.target.value)}
          />
          <button type="submit">Sign in</button>
        </form>
      ) : (
        <form onSubmit={send}>
          <label htmlFor="phone">Phone number</label>
          <input
            id="phone"
            type="tel"
            autoComplete="tel"
            placeholder="+1 415 555 0101"
            required
            value={phone}
            onChange={(event) => setPhone(event.target.value)}
          />
          <button type="submit">Send code</button>
        </form>
      )}
      {message && <p className="whatsapp">{message}</p>}
      <p className="error" role="alert" id="error">
        {error}
      </p>
    </>
  );
}
