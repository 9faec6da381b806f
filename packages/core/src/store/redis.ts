/**
 * The Redis store, for several processes. Over 300 lines because each atomic step is a Lua script
 * that mirrors a rule of `rules.ts`, and a script reads best beside the rule it copies; the
 * conformance suite runs against a real redis-server and fails on a script that drifts.
 */
import { createHash } from "node:crypto";
import { DELIVERY_STATUSES, type DeliveryStatus } from "../delivery-status.js";
import { canAdvance, EXPIRED_GRACE_MS, LOG_LIMIT } from "./rules.js";
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

// What Redis keeps, small as each pending code leaves a few keys behind:
// - a challenge: a hash { h: keyed hash, e: expiresAt, a: attempts, m: maxAttempts };
// - a counter up to LOG_LIMIT: while it holds one hit, a string of the hit's time (an integer,
//   which Redis keeps in the key's own record); with more, a sorted set of hit times, each named
//   by its time (an integer, 8 bytes); above LOG_LIMIT, a hash { c: count, s: window start };
// - a delivery record: a hash of one-letter fields (RECORD_FIELDS), its status as an index into
//   DELIVERY_STATUSES, and x: when the store forgets it;
// - a value: a hash { v: value, x: expiresAt }.
// Every key has a TTL. Times are the callers' (`now`), compared in the scripts; TTLs only let
// Redis drop what no call can see any more.

// The store rules (./rules.ts) in Lua, with the same constants. A change to a rule is made in both
// places; the conformance suite, run against Redis, holds them together.
const LIB = `
local LOG_LIMIT = ${LOG_LIMIT}
local EXPIRED_GRACE_MS = ${EXPIRED_GRACE_MS}
local function fmt(x) return string.format('%.17g', x) end
-- counterState's count, reading only: hits that left a log's window are not counted (the next hit
-- prunes them). Returns the live hits; for a fixed window (above LOG_LIMIT), its start; for a log
-- kept as a string (one hit), that hit's time.
local function bucket_count(key, limit, window, now)
  if limit > LOG_LIMIT then
    local c = redis.call('HMGET', key, 'c', 's')
    if not c[1] then return 0 end
    local start = tonumber(c[2])
    if start + window <= now then return 0 end
    return tonumber(c[1]), start
  end
  local kind = redis.call('TYPE', key).ok
  if kind == 'none' then return 0 end
  if kind == 'string' then
    local hit = tonumber(redis.call('GET', key))
    if hit + window <= now then return 0 end
    return 1, nil, hit
  end
  return redis.call('ZCOUNT', key, '(' .. fmt(now - window), '+inf')
end
-- counterState's freeAt, for a bucket holding count live hits: when the oldest of those that hold
-- it full leaves the window; now when it is empty.
local function free_at(key, limit, window, now, count, start, single)
  if count == 0 then return now end
  if start then return start + window end
  if single then return single + window end
  local hit = redis.call('ZRANGEBYSCORE', key, '(' .. fmt(now - window), '+inf', 'WITHSCORES',
    'LIMIT', math.max(0, count - limit), 1)
  return tonumber(hit[2]) + window
end
-- retryAfter, for a bucket with no room (count >= limit).
local function retry_after(key, limit, window, now, count, start, single)
  if count == 0 then return window end
  return free_at(key, limit, window, now, count, start, single) - now
end
-- withHit, for a bucket as bucket_count read it; the key's TTL stands for counterExpiresAt. A log
-- with no live hit becomes a string holding this one's time (whatever the key held has left the
-- window); with one, a sorted set of both; with more, one more in its set, the ones that left the
-- window pruned. A hit in a set is named by its time; another one in the same millisecond gets a
-- suffix.
local function bucket_hit(key, limit, window, now, count, single)
  if limit > LOG_LIMIT then
    if count > 0 then
      redis.call('HINCRBY', key, 'c', 1)
    else
      redis.call('HSET', key, 'c', 1, 's', now)
      redis.call('PEXPIRE', key, window)
    end
    return
  end
  if count == 0 then
    redis.call('SET', key, now, 'PX', window)
    return
  end
  if single then
    redis.call('DEL', key)
    if single == now then
      redis.call('ZADD', key, now, now, now, fmt(now) .. ':1')
    else
      redis.call('ZADD', key, single, single, now, now)
    end
    redis.call('PEXPIRE', key, math.max(single, now) + window - now)
    return
  end
  redis.call('ZREMRANGEBYSCORE', key, '-inf', now - window)
  local member, n = now, count
  while redis.call('ZADD', key, 'NX', now, member) == 0 do
    member = fmt(now) .. ':' .. n
    n = n + 1
  end
  redis.call('PEXPIRE', key, window)
end
-- constantTimeEqual: the sum of the squared differences of the bytes, 0 only when all are equal,
-- in time that depends on the length alone. Eight bytes per string.byte call (the last eight
-- overlap the ones before), as a call costs more than the arithmetic.
local function same(x, y)
  local n = #x
  if n ~= #y then return false end
  local byte, d = string.byte, 0
  if n < 8 then
    for i = 1, n do
      local t = byte(x, i) - byte(y, i)
      d = d + t * t
    end
    return d == 0
  end
  local i = 1
  while true do
    if i > n - 7 then i = n - 7 end
    local a1, a2, a3, a4, a5, a6, a7, a8 = byte(x, i, i + 7)
    local b1, b2, b3, b4, b5, b6, b7, b8 = byte(y, i, i + 7)
    a1, a2, a3, a4 = a1 - b1, a2 - b2, a3 - b3, a4 - b4
    a5, a6, a7, a8 = a5 - b5, a6 - b6, a7 - b7, a8 - b8
    d = d + a1 * a1 + a2 * a2 + a3 * a3 + a4 * a4 + a5 * a5 + a6 * a6 + a7 * a7 + a8 * a8
    if i == n - 7 then return d == 0 end
    i = i + 8
  end
end
`;

/** A script with its SHA, computed once. */
interface Script {
  source: string;
  sha: string;
}

function script(source: string): Script {
  return { source, sha: createHash("sha1").update(source).digest("hex") };
}

// KEYS: challenge. ARGV: hash, expiresAt, attempts, maxAttempts, now, then ifHash when there is one.
// mayReplace, then a key that lives until challengeKeptUntil. The four fields are every field a
// challenge has, so writing them all replaces it.
const PUT_CHALLENGE = script(`${LIB}
local now = tonumber(ARGV[5])
if #ARGV > 5 then
  local current = redis.call('HMGET', KEYS[1], 'h', 'e')
  if not current[1] or tonumber(current[2]) <= now or not same(current[1], ARGV[6]) then return 0 end
end
redis.call('HSET', KEYS[1], 'h', ARGV[1], 'e', ARGV[2], 'a', ARGV[3], 'm', ARGV[4])
redis.call('PEXPIRE', KEYS[1], math.max(1, tonumber(ARGV[2]) + EXPIRED_GRACE_MS - now))
return 1`);

// What the attempt script answers: a mismatch is the guesses left (0 or more), a block is
// { bucket index, retryAfterMs }, the other outcomes are these.
const MATCH = -1;
const LOCKED = -2;
const EXPIRED = -3;
const MISSING = -4;

// KEYS: challenge, then failure buckets. ARGV: hash, now, then limit, windowMs, spares ('1' when
// a full bucket still lets a fresh code take its first guess) per bucket.
// judgeAttempt, in its order: budgets (read only; when no budget key exists, one EXISTS says so),
// then the code. A match consumes the code (DEL) and counts in no budget; a miss counts on the
// code and in every budget. Everything before is read only, so a Redis that refuses writes
// (a read-only replica, a failed disk) refuses both at their first write, never a miss alone.
// A full Redis (maxmemory, noeviction) refuses only writes that may grow memory, and only as a
// script's first write: a miss starts with one it takes whenever it takes a match's DEL (the
// code's TTL, set again), so a full Redis still judges and counts every guess.
const ATTEMPT = script(`${LIB}
local now = tonumber(ARGV[2])
local c = redis.call('HMGET', KEYS[1], 'h', 'e', 'a', 'm')
local expires, attempts = tonumber(c[2]), tonumber(c[3])
local kept = c[1] and expires + EXPIRED_GRACE_MS > now
local fresh = kept and attempts == 0
local n = #KEYS - 1
local counts, singles = {}, {}
local worst, worst_ms = nil, -1
if n > 0 then
  local any = n == 1 or redis.call('EXISTS', unpack(KEYS, 2)) > 0
  for i = 1, n do
    local j = i * 3
    local key, limit, window = KEYS[i + 1], tonumber(ARGV[j]), tonumber(ARGV[j + 1])
    local count, start, single = 0, nil, nil
    if any then count, start, single = bucket_count(key, limit, window, now) end
    counts[i], singles[i] = count, single
    -- lastToFree over the budgets that do not spare this guess (isSpared).
    if count >= limit and not (fresh and ARGV[j + 2] == '1') then
      local ms = retry_after(key, limit, window, now, count, start, single)
      if ms > worst_ms then worst, worst_ms = i, ms end
    end
  end
end
if worst then return {worst, worst_ms} end
if not c[1] then return ${MISSING} end
if not kept then
  redis.call('DEL', KEYS[1])
  return ${MISSING}
end
if expires <= now then
  redis.call('DEL', KEYS[1])
  return ${EXPIRED}
end
local max = tonumber(c[4])
if attempts >= max then return ${LOCKED} end
if same(c[1], ARGV[1]) then
  redis.call('DEL', KEYS[1])
  return ${MATCH}
end
redis.call('PEXPIRE', KEYS[1], math.max(1, expires + EXPIRED_GRACE_MS - now))
redis.call('HINCRBY', KEYS[1], 'a', 1)
local left = max - attempts - 1
for i = 1, n do
  local j = i * 3
  local limit = tonumber(ARGV[j])
  bucket_hit(KEYS[i + 1], limit, tonumber(ARGV[j + 1]), now, counts[i], singles[i])
  left = math.min(left, math.max(0, limit - counts[i] - 1))
end
return left`);

// KEYS: buckets. ARGV: now, then limit, windowMs, peek ('1' or '0') per bucket.
// lastToFree decides; then a hit in each bucket but the peek ones, and bucketState of each after.
// After a hit the bucket holds its live hits before it and this one (the newest, so the oldest is
// the earlier oldest, or this one for an empty bucket).
const TAKE = script(`${LIB}
local now = tonumber(ARGV[1])
local n = #KEYS
local counts, starts, singles = {}, {}, {}
local worst, worst_ms = nil, -1
for i = 1, n do
  local j = i * 3 - 1
  local key, limit, window = KEYS[i], tonumber(ARGV[j]), tonumber(ARGV[j + 1])
  local count, start, single = bucket_count(key, limit, window, now)
  counts[i], starts[i], singles[i] = count, start, single
  if count >= limit then
    local ms = retry_after(key, limit, window, now, count, start, single)
    if ms > worst_ms then worst, worst_ms = i, ms end
  end
end
if worst then return {0, worst, worst_ms} end
local out = {1}
for i = 1, n do
  local j = i * 3 - 1
  local key, limit, window = KEYS[i], tonumber(ARGV[j]), tonumber(ARGV[j + 1])
  local count, start, single = counts[i], starts[i], singles[i]
  local free
  if ARGV[j + 2] == '1' then
    free = free_at(key, limit, window, now, count, start, single)
  else
    bucket_hit(key, limit, window, now, count, single)
    if count == 0 then
      free = now + window
    elseif start then
      free = start + window
    elseif single then
      free = math.min(single, now) + window
    else
      free = tonumber(redis.call('ZRANGE', key, 0, 0, 'WITHSCORES')[2]) + window
    end
    count = count + 1
  end
  out[#out + 1] = limit - count
  out[#out + 1] = free
end
return out`);

// A delivery record's fields as the hash keeps them. `status` is an index into DELIVERY_STATUSES;
// a field this list does not know is kept too, in `j` (JSON), so a record always comes back whole.
const RECORD_FIELDS = {
  status: "s",
  updatedAt: "u",
  sentAt: "t",
  error: "r",
  phone: "p",
  purpose: "o",
  expiresAt: "e",
  hash: "h",
  fallback: "f",
  ip: "i",
  client: "c",
  sender: "n",
  locale: "l",
} as const satisfies Record<keyof DeliveryRecord, string>;
type RecordField = keyof typeof RECORD_FIELDS;
const FIELD_OF = new Map<string, string>(Object.entries(RECORD_FIELDS));
const NAME_OF = new Map<string, string>(
  Object.entries(RECORD_FIELDS).map(([name, field]) => [field, name]),
);
const NUMBER_FIELDS = new Set<string>(["updatedAt", "sentAt", "expiresAt"] satisfies RecordField[]);
const STATUS_INDEX = new Map<string, number>(DELIVERY_STATUSES.map((s, i) => [s, i]));

// canAdvance over every pair of states, as a table indexed by from * count + to + 1.
const ADVANCES = `{ ${DELIVERY_STATUSES.flatMap((from) =>
  DELIVERY_STATUSES.map((to) => String(canAdvance(from, to))),
).join(", ")} }`;

// KEYS: delivery. ARGV: ttlMs, then field, value pairs of the record (x among them).
const PUT_DELIVERY = script(`
redis.call('DEL', KEYS[1])
redis.call('HSET', KEYS[1], unpack(ARGV, 2))
redis.call('PEXPIRE', KEYS[1], ARGV[1])
return 1`);

// KEYS: delivery. ARGV: status index, now, error ('' for none). canAdvance decides; the record
// after the call comes back as HGETALL's field, value list.
const ADVANCE = script(`
local ADVANCES = ${ADVANCES}
local c = redis.call('HMGET', KEYS[1], 's', 'x')
local now = tonumber(ARGV[2])
if not c[1] or tonumber(c[2]) <= now then return false end
local ok = ADVANCES[tonumber(c[1]) * ${DELIVERY_STATUSES.length} + tonumber(ARGV[1]) + 1]
if ok then
  if ARGV[3] ~= '' then
    redis.call('HSET', KEYS[1], 's', ARGV[1], 'u', ARGV[2], 'r', ARGV[3])
  else
    redis.call('HSET', KEYS[1], 's', ARGV[1], 'u', ARGV[2])
  end
end
return {ok and 1 or 0, redis.call('HGETALL', KEYS[1])}`);

// KEYS: delivery. The whole record; the caller checks x against its clock.
const GET_DELIVERY = script(`return redis.call('HGETALL', KEYS[1])`);

// KEYS: value. ARGV: value, expiresAt, ttlMs, now.
const SET_IF_ABSENT = script(`
local c = redis.call('HMGET', KEYS[1], 'v', 'x')
if c[1] and tonumber(c[2]) > tonumber(ARGV[4]) then return c[1] end
redis.call('HSET', KEYS[1], 'v', ARGV[1], 'x', ARGV[2])
redis.call('PEXPIRE', KEYS[1], ARGV[3])
return false`);

// KEYS: value. ARGV: now.
const GET = script(`
local c = redis.call('HMGET', KEYS[1], 'v', 'x')
if c[1] and tonumber(c[2]) > tonumber(ARGV[1]) then return c[1] end
return false`);

// KEYS: value. ARGV: value, expiresAt, ttlMs. A value's hash has no other field, so this replaces it.
const SET = script(`
redis.call('HSET', KEYS[1], 'v', ARGV[1], 'x', ARGV[2])
redis.call('PEXPIRE', KEYS[1], ARGV[3])
return 1`);

const DELETE = script(`redis.call('DEL', KEYS[1]) return 1`);

/** A delivery record as the PUT_DELIVERY script's field, value pairs, with `x`: until when it is kept. */
function recordFields(record: DeliveryRecord, until: number): string[] {
  const fields = ["x", String(until)];
  let extra: Record<string, unknown> | undefined;
  for (const [name, value] of Object.entries(record)) {
    if (value === undefined) continue;
    const field = FIELD_OF.get(name);
    if (field === undefined) {
      extra ??= {};
      extra[name] = value;
    } else if (name === "status") {
      fields.push(field, String(statusIndex(value as DeliveryStatus)));
    } else if (name === "fallback") {
      fields.push(field, value === true ? "1" : "0");
    } else {
      fields.push(field, String(value));
    }
  }
  if (extra !== undefined) fields.push("j", JSON.stringify(extra));
  return fields;
}

/**
 * A record from HGETALL's field, value list; null when there is none, or when it expired by `now`
 * (when given).
 */
function readRecord(flat: unknown, now?: number): DeliveryRecord | null {
  if (!Array.isArray(flat) || flat.length === 0) return null;
  let record: Record<string, unknown> = {};
  let until = Number.NaN;
  for (let i = 0; i < flat.length; i += 2) {
    const field = String(flat[i]);
    const value = String(flat[i + 1]);
    if (field === "x") {
      until = Number(value);
    } else if (field === "j") {
      record = { ...(JSON.parse(value) as Record<string, unknown>), ...record };
    } else {
      const name = NAME_OF.get(field);
      if (name === "status") record.status = DELIVERY_STATUSES[Number(value)];
      else if (name === "fallback") record.fallback = value === "1";
      else if (name !== undefined) record[name] = NUMBER_FIELDS.has(name) ? Number(value) : value;
    }
  }
  if (now !== undefined && !(until > now)) return null;
  return record as unknown as DeliveryRecord;
}

function statusIndex(status: DeliveryStatus): number {
  const index = STATUS_INDEX.get(status);
  if (index === undefined) throw new Error(`Unknown delivery status: ${String(status)}`);
  return index;
}

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
  const { evalSha, evalScript } = scriptCalls(client);
  // Key shapes, with the prefix: a challenge, a bucket, a delivery record, a value. Delivery
  // records and values are hashes; earlier versions kept them as JSON strings under `d:` and `v:`,
  // which are left to expire, so an upgraded instance never reads one of another type.
  const challengePrefix = `${prefix}c:`;
  const bucketPrefix = `${prefix}b:`;
  const deliveryPrefix = `${prefix}m:`;
  const valuePrefix = `${prefix}s:`;

  /**
   * Runs `script` with full keys and string arguments, by its SHA (loading it on the first
   * NOSCRIPT); fails after `timeoutMs`.
   */
  function call(script: Script, keys: string[], args: string[]): Promise<unknown> {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(
        () => reject(new Error(`Redis did not answer within ${timeoutMs} ms`)),
        timeoutMs,
      );
      const done = (value: unknown) => {
        clearTimeout(timer);
        resolve(value);
      };
      const fail = (error: unknown) => {
        clearTimeout(timer);
        reject(error);
      };
      send(evalSha, script, keys, args).then(done, (error: unknown) => {
        if (String((error as Error)?.message ?? error).includes("NOSCRIPT")) {
          send(evalScript, script, keys, args).then(done, fail);
        } else {
          fail(error);
        }
      });
    });
  }

  return {
    async putChallenge(key, challenge, now, ifHash) {
      const args = [
        challenge.hash,
        String(challenge.expiresAt),
        String(challenge.attempts),
        String(challenge.maxAttempts),
        String(now),
      ];
      if (ifHash !== undefined) args.push(ifHash);
      const stored = await call(PUT_CHALLENGE, [challengePrefix + key], args);
      return Number(stored) === 1;
    },

    async attempt({ key, hash, now, failures = [] }): Promise<AttemptResult> {
      // Arrays of their final length: a verify's arguments, built once.
      const keys = new Array<string>(1 + failures.length);
      const args = new Array<string>(2 + 3 * failures.length);
      keys[0] = challengePrefix + key;
      args[0] = hash;
      args[1] = String(now);
      failures.forEach((b, i) => {
        keys[1 + i] = bucketPrefix + b.key;
        args[2 + 3 * i] = String(b.limit);
        args[3 + 3 * i] = String(b.windowMs);
        args[4 + 3 * i] = b.sparesFirstGuess ? "1" : "0";
      });
      const reply = await call(ATTEMPT, keys, args);
      if (Array.isArray(reply)) {
        const bucket = failures[Number(reply[0]) - 1] as Bucket;
        return { outcome: "blocked", key: bucket.key, retryAfterMs: Number(reply[1]) };
      }
      const code = Number(reply);
      if (code >= 0) return { outcome: "mismatch", attemptsLeft: code };
      if (code === MATCH) return { outcome: "match" };
      if (code === LOCKED) return { outcome: "locked" };
      if (code === EXPIRED) return { outcome: "expired" };
      if (code === MISSING) return { outcome: "missing" };
      throw new Error(`Unexpected reply from Redis: ${String(reply)}`);
    },

    async take(buckets, now): Promise<TakeResult> {
      const keys = new Array<string>(buckets.length);
      const args = new Array<string>(1 + 3 * buckets.length);
      args[0] = String(now);
      buckets.forEach((b, i) => {
        keys[i] = bucketPrefix + b.key;
        args[1 + 3 * i] = String(b.limit);
        args[2 + 3 * i] = String(b.windowMs);
        args[3 + 3 * i] = b.peek ? "1" : "0";
      });
      const reply = (await call(TAKE, keys, args)) as number[];
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
      const fields = recordFields(record, record.updatedAt + ttlMs);
      await call(
        PUT_DELIVERY,
        [deliveryPrefix + messageId],
        [String(Math.max(1, ttlMs)), ...fields],
      );
    },

    async advanceDelivery(update, now) {
      const reply = (await call(
        ADVANCE,
        [deliveryPrefix + update.messageId],
        [String(statusIndex(update.status)), String(now), update.error ?? ""],
      )) as [number, unknown[]] | null;
      if (!reply) return null;
      const record = readRecord(reply[1]) as DeliveryRecord;
      return { changed: Number(reply[0]) === 1, record };
    },

    async getDelivery(messageId, now) {
      return readRecord(await call(GET_DELIVERY, [deliveryPrefix + messageId], []), now);
    },

    async setIfAbsent(key, value, ttlMs, now) {
      const existing = await call(
        SET_IF_ABSENT,
        [valuePrefix + key],
        [value, String(now + ttlMs), String(Math.max(1, ttlMs)), String(now)],
      );
      return typeof existing === "string" ? existing : null;
    },

    async get(key, now) {
      const value = await call(GET, [valuePrefix + key], [String(now)]);
      return typeof value === "string" ? value : null;
    },

    async set(key, value, ttlMs, now) {
      await call(
        SET,
        [valuePrefix + key],
        [value, String(now + ttlMs), String(Math.max(1, ttlMs))],
      );
    },

    async delete(key) {
      await call(DELETE, [valuePrefix + key], []);
    },
  };
}

/** `run`'s promise, also when it throws instead of rejecting. */
function send(
  run: (script: Script, keys: string[], args: string[]) => Promise<unknown>,
  script: Script,
  keys: string[],
  args: string[],
): Promise<unknown> {
  try {
    return run(script, keys, args);
  } catch (error) {
    return Promise.reject(error);
  }
}

/** A script run by its SHA, or by its source, with either kind of client. */
function scriptCalls(client: RedisClientLike): {
  evalSha: (script: Script, keys: string[], args: string[]) => Promise<unknown>;
  evalScript: (script: Script, keys: string[], args: string[]) => Promise<unknown>;
} {
  if ("evalSha" in client) {
    return {
      evalSha: (script, keys, args) => client.evalSha(script.sha, { keys, arguments: args }),
      evalScript: (script, keys, args) => client.eval(script.source, { keys, arguments: args }),
    };
  }
  return {
    evalSha: (script, keys, args) => client.evalsha(script.sha, keys.length, ...keys, ...args),
    evalScript: (script, keys, args) => client.eval(script.source, keys.length, ...keys, ...args),
  };
}
