import { waotp } from "../../../../lib/otp.mjs";

// POST /api/otp/send, POST /api/otp/verify, GET /api/otp/status/:messageId
const handler = async (request) => (await waotp()).routes(request);

export { handler as GET, handler as POST };
