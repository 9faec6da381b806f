import { type OneMsgChannel, oneMsg } from "../one-msg/channel.js";
import { type OneMsgEnv, oneMsgOptionsFromEnv } from "../one-msg/env.js";
import { type OneMsgSimulator, type SimulatorOptions, startOneMsgSimulator } from "./server.js";

/**
 * The channel an app should use in development: real 1MSG from the `ONEMSG_*` variables when
 * `ONEMSG_TOKEN` is set, otherwise a 1MSG simulator started on loopback. Close `simulator` when done.
 */
export async function channelFromEnv(
  env: OneMsgEnv,
  simulatorOptions: SimulatorOptions = {},
): Promise<{ channel: OneMsgChannel; simulator: OneMsgSimulator | undefined }> {
  if (env.ONEMSG_TOKEN) return { channel: oneMsg(oneMsgOptionsFromEnv(env)), simulator: undefined };
  const simulator = await startOneMsgSimulator(simulatorOptions);
  const channel = oneMsg({
    baseUrl: simulator.url,
    channelId: simulator.channelId,
    token: simulator.token,
    template: simulator.template,
  });
  return { channel, simulator };
}
