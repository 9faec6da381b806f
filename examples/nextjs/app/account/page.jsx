import { headers } from "next/headers";
import { redirect } from "next/navigation";
import { waotp } from "../../lib/otp.mjs";

export const metadata = { title: "Your account" };

export default async function Account() {
  const { signedIn } = await waotp();
  // requireOtp reads a Request: one built from this page's headers (the cookie is among them).
  const incoming = await headers();
  const proto = incoming.get("x-forwarded-proto") === "https" ? "https" : "http";
  const request = new Request(`${proto}://${incoming.get("host") ?? "localhost"}/account`, {
    headers: incoming,
  });
  const check = await signedIn(request);
  if (!check.ok) redirect("/");
  return (
    <>
      <h1>Your account</h1>
      <p>
        Signed in as <strong id="phone">{check.verification.phone}</strong>.
      </p>
    </>
  );
}
