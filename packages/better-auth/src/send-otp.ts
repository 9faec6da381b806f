import { type Channel, parsePhone } from "@waotp/core";

/**
 * For apps that keep better-auth's own `phoneNumber` plugin and only want WhatsApp delivery:
 * `phoneNumber({ sendOTP: whatsappSendOTP(oneMsg({ ... })) })`. better-auth then stores and checks
 * the code itself, with its own limits; `whatsappOtp()` is the plugin with waotp's.
 */
export function whatsappSendOTP(channel: Channel, options: { ttlSeconds?: number } = {}) {
  const ttlSeconds = options.ttlSeconds ?? 300;
  return async ({ phoneNumber, code }: { phoneNumber: string; code: string }): Promise<void> => {
    const phone = parsePhone(phoneNumber);
    await channel.send({
      phone: phone.digits,
      code,
      purpose: "phone-number",
      expiresAt: new Date(Date.now() + ttlSeconds * 1000),
      ttlSeconds,
    });
  };
}
