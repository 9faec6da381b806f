import { isIPv4, isIPv6 } from "node:net";
import { OtpError } from "./errors.js";

/**
 * The key under which sends from an address are counted. IPv4 addresses count alone; IPv6
 * addresses are grouped by their first `ipv6PrefixLength` bits (a /64 is what one subscriber
 * usually gets, so rotating within it must not buy new sends). IPv4-mapped IPv6 addresses count as
 * the IPv4 address they carry.
 */
export function ipKey(ip: string, ipv6PrefixLength = 64): string {
  const address = ip.trim();
  const zoneless = address.split("%")[0] ?? "";
  if (isIPv4(address)) return address;
  if (!isIPv6(zoneless)) {
    throw new OtpError(
      "INVALID_INPUT",
      "The client IP address is not a valid IPv4 or IPv6 address.",
    );
  }
  const groups = expandIPv6(zoneless);
  // ::ffff:a.b.c.d is an IPv4 client seen through a dual-stack socket.
  if (groups.slice(0, 5).every((g) => g === 0) && groups[5] === 0xffff) {
    const high = groups[6] ?? 0;
    const low = groups[7] ?? 0;
    return `${high >> 8}.${high & 0xff}.${low >> 8}.${low & 0xff}`;
  }
  const kept: string[] = [];
  for (let bit = 0, i = 0; bit < ipv6PrefixLength; bit += 16, i++) {
    const take = Math.min(16, ipv6PrefixLength - bit);
    const group = groups[i] ?? 0;
    const masked = take === 16 ? group : group & (0xffff << (16 - take)) & 0xffff;
    kept.push(masked.toString(16));
  }
  return `${kept.join(":")}::/${ipv6PrefixLength}`;
}

/** Eight 16-bit groups of a valid IPv6 address, including one with an embedded IPv4 tail. */
function expandIPv6(address: string): number[] {
  let text = address.toLowerCase();
  const lastColon = text.lastIndexOf(":");
  const tail = text.slice(lastColon + 1);
  if (isIPv4(tail)) {
    const [a = 0, b = 0, c = 0, d = 0] = tail.split(".").map(Number);
    text = `${text.slice(0, lastColon + 1)}${((a << 8) | b).toString(16)}:${((c << 8) | d).toString(16)}`;
  }
  const [head = "", rest] = text.split("::");
  const left = head === "" ? [] : head.split(":");
  const right = rest === undefined || rest === "" ? [] : rest.split(":");
  const missing = rest === undefined ? 0 : 8 - left.length - right.length;
  return [...left, ...Array<string>(missing).fill("0"), ...right].map((g) =>
    Number.parseInt(g, 16),
  );
}
