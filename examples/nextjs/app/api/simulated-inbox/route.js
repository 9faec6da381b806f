import { isLoopbackHost } from "@waotp/core/simulator";
import { waotp } from "../../../lib/otp.mjs";

// In simulator mode, what the simulated phone received (the server then listens on 127.0.0.1 only).
// Only to requests that name this machine: a loopback bind does not stop DNS rebinding.
export async function GET(request) {
  const { simulator } = await waotp();
  if (!simulator || !isLoopbackHost(request.headers.get("host"))) return Response.json([]);
  const phone = new URL(request.url).searchParams.get("phone") ?? "";
  return Response.json(simulator.inbox(phone).map((m) => m.text));
}
