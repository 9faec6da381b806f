import { waotp } from "../../../lib/otp.mjs";

// In simulator mode, what the simulated phone received (the server then listens on 127.0.0.1 only).
export async function GET(request) {
  const { simulator } = await waotp();
  const phone = new URL(request.url).searchParams.get("phone") ?? "";
  return Response.json(simulator ? simulator.inbox(phone).map((m) => m.text) : []);
}
