import type { UserWithPhoneNumber } from "../options.js";

/** The part of better-auth's endpoint context that finds users. */
interface UsersContext {
  context: {
    adapter: {
      findOne<T>(args: {
        model: string;
        where: { field: string; value: string }[];
      }): Promise<T | null>;
    };
  };
}

/** The user whose sign-in number is `phoneNumber` (E.164), if any. */
export function findUserByPhone(
  ctx: UsersContext,
  phoneNumber: string,
): Promise<UserWithPhoneNumber | null> {
  return ctx.context.adapter.findOne<UserWithPhoneNumber>({
    model: "user",
    where: [{ field: "phoneNumber", value: phoneNumber }],
  });
}
