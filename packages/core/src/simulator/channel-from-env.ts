import { type OneMsgChannel, oneMsg } from "../one-msg/channel.js";
import { type OneMsgEnv, oneMsgOptionsFromEnv } from "../one-msg/env.js";
import { type TwilioSmsChannel, type TwilioSmsOptions, twilioSms } from "../twilio/channel.js";
import { type TwilioEnv, twilioOptionsFromEnv } from "../twilio/env.js";
import { TRANSLATED_TEMPLATES } from "./one-msg-fake.js";
import { type OneMsgSimulator, type SimulatorOptions, startOneMsgSimulator } from "./server.js";

/**
 * The SMS text `channelFromEnv` gives its SMS channel, in the languages of the simulator's
 * templates (`pt` serves `pt-BR`). `{code}` is the code and `{minutes}` its lifetime.
 */
export const SMS_TEXT: Readonly<Record<string, string>> = {
  en: "Your verification code is {code}. It is valid for {minutes} minutes; never share it.",
  pt: "Seu código de verificação é {code}. Ele vale por {minutes} minutos; nunca o compartilhe.",
  es: "Tu código de verificación es {code}. Vale {minutes} minutos; no se lo des a nadie.",
};

/**
 * What the app may set on the SMS channel besides the provider's account: the text, the WebOTP
 * domain, where status callbacks go, timeouts.
 */
export type SmsChannelOptions = Omit<
  Partial<TwilioSmsOptions>,
  "accountSid" | "authToken" | "apiKey" | "apiSecret" | "baseUrl" | "from" | "messagingServiceSid"
>;

/** Names that mean the app wants real Twilio SMS (with ONEMSG_TOKEN set). */
const TWILIO_SETTINGS = [
  "TWILIO_ACCOUNT_SID",
  "TWILIO_AUTH_TOKEN",
  "TWILIO_API_KEY",
  "TWILIO_API_SECRET",
  "TWILIO_FROM",
  "TWILIO_MESSAGING_SERVICE_SID",
] as const;

/**
 * The channels an app should use in development. With `ONEMSG_TOKEN` set: real 1MSG from the
 * `ONEMSG_*` variables, and real Twilio SMS from the `TWILIO_*` ones when any is set (`sms` is
 * undefined otherwise; a partial set is an error that names what is missing). Without it: a
 * simulator started on loopback, WhatsApp through its 1MSG (templates approved in `en`, `pt_BR`
 * and `es`) and SMS through its Twilio. Close `simulator` when done.
 *
 * @example
 * const { channel, sms, simulator } = await channelFromEnv(process.env);
 * const otp = createOtp({ secret, channel, ...(sms ? { delivery: { fallback: sms } } : {}) });
 */
export async function channelFromEnv(
  env: OneMsgEnv & TwilioEnv,
  simulatorOptions: SimulatorOptions = {},
  smsOptions: SmsChannelOptions = {},
): Promise<{
  channel: OneMsgChannel;
  sms: TwilioSmsChannel | undefined;
  simulator: OneMsgSimulator | undefined;
}> {
  const text = { text: SMS_TEXT, ...smsOptions };
  if (env.ONEMSG_TOKEN) {
    const wantsSms = TWILIO_SETTINGS.some((name) => (env[name] ?? "").trim() !== "");
    return {
      channel: oneMsg(oneMsgOptionsFromEnv(env)),
      sms: wantsSms ? twilioSms({ ...twilioOptionsFromEnv(env), ...text }) : undefined,
      simulator: undefined,
    };
  }
  const templates = simulatorOptions.templates ?? TRANSLATED_TEMPLATES;
  const simulator = await startOneMsgSimulator({ ...simulatorOptions, templates });
  const first = simulator.template;
  // Every language the first template is approved in, its own first.
  const languages = templates
    .filter((t) => t.name === first.name && t.namespace === first.namespace)
    .map((t) => t.language);
  const channel = oneMsg({
    baseUrl: simulator.url,
    channelId: simulator.channelId,
    token: simulator.token,
    template: {
      name: first.name,
      namespace: first.namespace,
      language: first.language,
      languages,
    },
  });
  const sms = twilioSms({
    baseUrl: simulator.url,
    accountSid: simulator.sms.accountSid,
    authToken: simulator.sms.authToken,
    from: simulator.sms.from,
    ...text,
  });
  return { channel, sms, simulator };
}
