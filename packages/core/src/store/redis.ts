/**
 * The Redis store, for several processes. Over 300 lines because each atomic step is a Lua script
 * that mirrors a rule of `rules.ts`, and a script reads best beside the rule it copies; the
 * conformance suite runs against a real redis-server and fails on a script that drifts.
 */
import { createHash } from "node:crypto";
import { DELIVERY_STATUSES } from "../delivery-status.js";
import { EXPIRED_GRACE_MS, LOG_LIMIT } from "./rules.js";
import type { AttemptResult, Bucket, DeliveryRecord, Store, TakeResult } from "./types.js";

/**
 * The part of a Redis client the store uses. Both `redis` (node-redis 4+) and `ioredis` clients
 * fit: node-redis through `evalSha`/`eval` with `{ keys, arguments }`, ioredis through
 * `evalsha`/`eval` with a key count.
 */
export type RedisClientLike =
  | {
      evalSha(sha: string, options: { keys: string[]; arguments: string[] }): Promise<unknown>;
      eval(script: string, options: { keys: string[]; arguments: string[] }): Promise<unknown>;
    }
  | {
      evalsha(sha: string, numKeys: number, ...args: string[]): Promise<unknown>;
      eval(script: string, numKeys: number, ...args: string[]): Promise<unknown>;
    };

export interface RedisStoreOptions {
  /** Prefix of every key. Use a hash tag (`{waotp}:`) to keep them on one Redis Cluster slot. @default "waotp:" */
  prefix?: string;
  /**
   * A call that takes longer fails, so the core refuses the request (`STORE_UNAVAILABLE`) instead
   * of waiting on a Redis that is down. @default 2000
   */
  timeoutMs?: number;
}

// The store rules (./rules.ts) in Lua, function for function, with the same constants. A change
// to a rule is made in both places; the conformance suite, run against Redis, holds them together.
const LIB = `
local LOG_LIMIT = ${LOG_LIMIT}
local EXPIRED_GRACE_MS = ${EXPIRED_GRACE_MS}
-- counterState: a sorted set of hit times up to LOG_LIMIT, a count and start in a hash above.
local function bucket_state(key, limit, window, now)
  if limit > LOG_LIMIT then
    local c = redis.call('HMGET', key, 'c', 's')
    if not c[1] or tonumber(c[2]) + window <= now then return 0, now end
    return tonumber(c[1]), tonumber(c[2]) + window
  end
  redis.call('ZREMRANGEBYSCORE', key, '-inf', now - window)
  local count = redis.call('ZCARD', key)
  if count == 0 then return 0, now end
  local index = math.max(0, count - limit)
  local oldest = redis.call('ZRANGE', key, index, index, 'WITHSCORES')
  return count, tonumber(oldest[2]) + window
end
-- withHit (the key's TTL stands for counterExpiresAt).
local function bucket_hit(key, limit, window, now)
  local member
  if limit > LOG_LIMIT then
    local count = bucket_state(key, limit, window, now)
    if count == 0 then redis.call('HSET', key, 'c', 1, 's', now) else redis.call('HINCRBY', key, 'c', 1) end
  else
    member = now .. ':' .. redis.call('ZCARD', key)
    redis.call('ZADD', key, now, member)
  end
  redis.call('PEXPIRE', key, window)
  return member
end
-- withoutHit: takes back the hit bucket_hit just made (its member, for a sliding log).
local function bucket_unhit(key, limit, member)
  if limit > LOG_LIMIT then redis.call('HINCRBY', key, 'c', -1) else redis.call('ZREM', key, member) end
end
-- retryAfter: nil when the bucket has room.
local function retry_after(limit, window, count, free_at, now)
  if count < limit then return nil end
  if count == 0 then return window end
  return free_at - now
end
-- lastToFree over { key, limit, window, skip } tables: the index and wait of the full bucket that
-- frees up last (the first of equals), or nil. Skipped buckets are the spared ones (isSpared).
local function last_to_free(buckets, now)
  local worst, worst_ms = nil, -1
  for i, b in ipairs(buckets) do
    if not b.skip then
      local count, free_at = bucket_state(b.key, b.limit, b.window, now)
      local ms = retry_after(b.limit, b.window, count, free_at, now)
      if ms and ms > worst_ms then worst, worst_ms = i, ms end
    end
  end
  return worst, worst_ms
end
local function same(x, y)
  if #x ~= #y then return false end
  local diff = 0
  for i = 1, #x do diff = bit.bor(diff, bit.bxor(string.byte(x, i), string.byte(y, i))) end
  return diff == 0
end
`;

// KEYS: challenge. ARGV: hash, expiresAt, attempts, maxAttempts, now, ifHash ('' for none).
// mayReplace, then a key that lives until challengeKeptUntil.
const PUT_CHALLENGE = `${LIB}
local now = tonumber(ARGV[5])
if ARGV[6] ~= '' then
  local current = redis.call('HMGET', KEYS[1], 'h', 'e')
  if not current[1] or tonumber(current[2]) <= now or not same(current[1], ARGV[6]) then return 0 end
end
redis.call('DEL', KEYS[1])
redis.call('HSET', KEYS[1], 'h', ARGV[1], 'e', ARGV[2], 'a', ARGV[3], 'm', ARGV[4])
redis.call('PEXPIRE', KEYS[1], math.max(1, tonumber(ARGV[2]) + EXPIRED_GRACE_MS - now))
return 1`;

// KEYS: challenge, then failure buckets. ARGV: hash, now, then limit, windowMs, spares ('1' when
// a full bucket still lets a fresh code take its first guess) per bucket.
// judgeAttempt, in its order. One difference in how, not what: the guess is counted (the code's
// attempts, every failure bucket) before the hashes are compared, and given back on a match. A
// write Redis refuses then fails the script before any judging, never after a wrong guess only,
// which would tell wrong from right. (At maxmemory with noeviction, Redis 7 lets a script that
// began writing go on; the guess is then judged and counted, never free.)
const ATTEMPT = `${LIB}
local now = tonumber(ARGV[2])
local c = redis.call('HMGET', KEYS[1], 'h', 'e', 'a', 'm')
local kept = c[1] and tonumber(c[2]) + EXPIRED_GRACE_MS > now
local fresh = kept and tonumber(c[3]) == 0
local budgets = {}
for i = 2, #KEYS do
  local j = 2 + (i - 2) * 3
  budgets[i - 1] = {
    key = KEYS[i], limit = tonumber(ARGV[j + 1]), window = tonumber(ARGV[j + 2]),
    skip = fresh and ARGV[j + 3] == '1',
  }
end
local worst, worst_ms = last_to_free(budgets, now)
if worst then return {'blocked', worst_ms, worst} end
if not c[1] then return {'missing'} end
if not kept then
  redis.call('DEL', KEYS[1])
  return {'missing'}
end
if tonumber(c[2]) <= now then
  redis.call('DEL', KEYS[1])
  return {'expired'}
end
local max = tonumber(c[4])
if tonumber(c[3]) >= max then return {'locked'} end
local attempts = redis.call('HINCRBY', KEYS[1], 'a', 1)
local members = {}
for i, b in ipairs(budgets) do members[i] = bucket_hit(b.key, b.limit, b.window, now) end
if same(c[1], ARGV[1]) then
  redis.call('DEL', KEYS[1])
  for i, b in ipairs(budgets) do bucket_unhit(b.key, b.limit, members[i]) end
  return {'match'}
end
local left = max - attempts
for _, b in ipairs(budgets) do
  local count = bucket_state(b.key, b.limit, b.window, now)
  left = math.min(left, math.max(0, b.limit - count))
end
return {'mismatch', left}`;

// KEYS: buckets. ARGV: now, then limit, windowMs, peek ('1' or '0') per bucket.
// lastToFree decides; then a hit in each bucket but the peek ones, and bucketState of each.
const TAKE = `${LIB}
local now = tonumber(ARGV[1])
local buckets = {}
for i, key in ipairs(KEYS) do
  local j = 1 + (i - 1) * 3
  buckets[i] = {
    key = key, limit = tonumber(ARGV[j + 1]), window = tonumber(ARGV[j + 2]), peek = ARGV[j + 3] == '1',
  }
end
local worst, worst_ms = last_to_free(buckets, now)
if worst then return {0, worst, worst_ms} end
local out = {1}
for _, b in ipairs(buckets) do
  if not b.peek then bucket_hit(b.key, b.limit, b.window, now) end
  local count, free_at = bucket_state(b.key, b.limit, b.window, now)
  table.insert(out, b.limit - count)
  table.insert(out, free_at)
end
return out`;

const RANKS = `{ ${DELIVERY_STATUSES.map((s, i) => `${s} = ${Math.min(i, 4)}`).join(", ")} }`;

// KEYS: delivery. ARGV: status, now, error ('' for none). A record is JSON { r: record, x: expiresAt }.
// The ranks and the test below are canAdvance.
const ADVANCE = `
local RANK = ${RANKS}
local raw = redis.call('GET', KEYS[1])
if not raw then return false end
local stored = cjson.decode(raw)
local now = tonumber(ARGV[2])
if stored.x <= now then return false end
local from, to = stored.r.status, ARGV[1]
local terminal = function(s) return s == 'failed' or s == 'undelivered' end
local ok
if terminal(from) then ok = false
elseif terminal(to) then ok = RANK[from] < RANK['delivered']
else ok = RANK[to] > RANK[from] end
if not ok then return {0, cjson.encode(stored.r)} end
stored.r.status = to
stored.r.updatedAt = now
if ARGV[3] ~= '' then stored.r.error = ARGV[3] end
redis.call('SET', KEYS[1], cjson.encode(stored), 'KEEPTTL')
return {1, cjson.encode(stored.r)}`;

// KEYS: value. ARGV: value, expiresAt, ttlMs, now. Values are JSON { v, x }.
const SET_IF_ABSENT = `
local raw = redis.call('GET', KEYS[1])
if raw then
  local stored = cjson.decode(raw)
  if stored.x > tonumber(ARGV[4]) then return stored.v end
end
redis.call('SET', KEYS[1], cjson.encode({ v = ARGV[1], x = tonumber(ARGV[2]) }), 'PX', ARGV[3])
return false`;

const GET_LIVE = `
local raw = redis.call('GET', KEYS[1])
if not raw then return false end
local stored = cjson.decode(raw)
if stored.x <= tonumber(ARGV[1]) then return false end
return raw`;

const SET = `redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2]) return 1`;
const DELETE = `redis.call('DEL', KEYS[1]) return 1`;

/**
 * The store for several processes or machines: every operation is one Lua script, so it is atomic
 * and takes one round trip. Keys carry TTLs, so nothing outlives its purpose. Works with `redis`
 * (node-redis) and `ioredis` clients; the client, its connection and its reconnection are yours.
 *
 * When Redis is unreachable or slow, calls fail after `timeoutMs` and the core refuses sends and
 * verifications with `STORE_UNAVAILABLE`; they work again as soon as the client reconnects.
 *
 * @example
 * const client = await createClient({ url: process.env.REDIS_URL }).connect();
 * const otp = createOtp({ secret, channel, store: redisStore(client) });
 */
export function redisStore(client: RedisClientLike, options: RedisStoreOptions = {}): Store {
  const prefix = options.prefix ?? "waotp:";
  const timeoutMs = options.timeoutMs ?? 2000;
  const run = scriptRunner(client);

  async function call(script: string, keys: string[], args: (string | number)[]): Promise<unknown> {
    let timer: ReturnType<typeof setTimeout> | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(
        () => reject(new Error(`Redis did not answer within ${timeoutMs} ms`)),
        timeoutMs,
      );
    });
    const pending = run(
      script,
      keys.map((k) => prefix + k),
      args.map(String),
    );
    pending.catch(() => {});
    try {
      return await Promise.race([pending, timeout]);
    } finally {
      clearTimeout(timer);
    }
  }

  const bucketArgs = (b: Bucket) => [b.limit, b.windowMs];

  return {
    async putChallenge(key, challenge, now, ifHash) {
      const stored = await call(
        PUT_CHALLENGE,
        [`c:${key}`],
        [
          challenge.hash,
          challenge.expiresAt,
          challenge.attempts,
          challenge.maxAttempts,
          now,
          ifHash ?? "",
        ],
      );
      return Number(stored) === 1;
    },

    async attempt({ key, hash, now, failures = [] }): Promise<AttemptResult> {
      const keys = [`c:${key}`, ...failures.map((b) => `b:${b.key}`)];
      const reply = (await call(ATTEMPT, keys, [
        hash,
        now,
        ...failures.flatMap((b) => [...bucketArgs(b), b.sparesFirstGuess ? "1" : "0"]),
      ])) as [string, number?, number?];
      const [outcome, value, index] = reply;
      if (outcome === "mismatch") return { outcome, attemptsLeft: Number(value) };
      if (outcome === "blocked") {
        const bucket = failures[Number(index) - 1] as Bucket;
        return { outcome, key: bucket.key, retryAfterMs: Number(value) };
      }
      return { outcome: outcome as "match" | "locked" | "expired" | "missing" };
    },

    async take(buckets, now): Promise<TakeResult> {
      const reply = (await call(
        TAKE,
        buckets.map((b) => `b:${b.key}`),
        [now, ...buckets.flatMap((b) => [...bucketArgs(b), b.peek ? "1" : "0"])],
      )) as number[];
      if (Number(reply[0]) === 0) {
        const bucket = buckets[Number(reply[1]) - 1] as Bucket;
        return { ok: false, key: bucket.key, retryAfterMs: Number(reply[2]) };
      }
      return {
        ok: true,
        buckets: buckets.map((_, i) => ({
          remaining: Number(reply[1 + i * 2]),
          resetAt: Number(reply[2 + i * 2]),
        })),
      };
    },

    async putDelivery(messageId, record, ttlMs) {
      const value = JSON.stringify({ r: record, x: record.updatedAt + ttlMs });
      await call(SET, [`d:${messageId}`], [value, Math.max(1, ttlMs)]);
    },

    async advanceDelivery(update, now) {
      const reply = (await call(
        ADVANCE,
        [`d:${update.messageId}`],
        [update.status, now, update.error ?? ""],
      )) as [number, string] | null;
      if (!reply) return null;
      return { changed: Number(reply[0]) === 1, record: JSON.parse(reply[1]) as DeliveryRecord };
    },

    async getDelivery(messageId, now) {
      const raw = (await call(GET_LIVE, [`d:${messageId}`], [now])) as string | null;
      return raw ? (JSON.parse(raw) as { r: DeliveryRecord }).r : null;
    },

    async setIfAbsent(key, value, ttlMs, now) {
      const existing = await call(
        SET_IF_ABSENT,
        [`v:${key}`],
        [value, now + ttlMs, Math.max(1, ttlMs), now],
      );
      return typeof existing === "string" ? existing : null;
    },

    async get(key, now) {
      const raw = (await call(GET_LIVE, [`v:${key}`], [now])) as string | null;
      return raw ? (JSON.parse(raw) as { v: string }).v : null;
    },

    async set(key, value, ttlMs, now) {
      await call(
        SET,
        [`v:${key}`],
        [JSON.stringify({ v: value, x: now + ttlMs }), Math.max(1, ttlMs)],
      );
    },

    async delete(key) {
      await call(DELETE, [`v:${key}`], []);
    },
  };
}

/** Runs a script by its SHA, loading it on the first NOSCRIPT, with either kind of client. */
function scriptRunner(client: RedisClientLike) {
  const shas = new Map<string, string>();
  const shaOf = (script: string) => {
    let sha = shas.get(script);
    if (sha === undefined) {
      sha = createHash("sha1").update(script).digest("hex");
      shas.set(script, sha);
    }
    return sha;
  };
  const noScript = (error: unknown) =>
    String((error as Error)?.message ?? error).includes("NOSCRIPT");
  if ("evalSha" in client) {
    return async (script: string, keys: string[], args: string[]) => {
      const options = { keys, arguments: args };
      try {
        return await client.evalSha(shaOf(script), options);
      } catch (error) {
        if (noScript(error)) return client.eval(script, options);
        throw error;
      }
    };
  }
  return async (script: string, keys: string[], args: string[]) => {
    try {
      return await client.evalsha(shaOf(script), keys.length, ...keys, ...args);
    } catch (error) {
      if (noScript(error)) return client.eval(script, keys.length, ...keys, ...args);
      throw error;
    }
  };
}
