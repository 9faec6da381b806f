// The 1MSG simulator in its own process, without delivery acks (nothing here listens for them).
import { startOneMsgSimulator } from "@waotp/core/simulator";

const sim = await startOneMsgSimulator({ acks: { sent: false, delivered: false, read: false } });
console.log(JSON.stringify({ url: sim.url }));
// Keep memory flat over long runs: the inbox is not needed here.
setInterval(() => sim.reset(), 1000).unref?.();
