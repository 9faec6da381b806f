/**
 * What both fakes (1MSG and Twilio) keep the same way: the messages they took, waiting for the next
 * one to a phone, and their timers (acks, callbacks), stopped and aborted together at close.
 */

export interface Mailbox<M extends { phone: string; code: string | undefined }> {
  readonly messages: M[];
  /** Aborted at close: in-flight webhook posts stop with it. */
  readonly closing: AbortSignal;
  /** Runs `run` in `ms`, unless closed first; never keeps the process alive. */
  later(ms: number, run: () => void): void;
  /** Keeps a message and hands it to whoever waits for one to its phone. */
  add(message: M): void;
  inbox(phone: string): M[];
  lastCode(phone: string): string | undefined;
  /** The next message to `phone` (digits or E.164); rejects after `timeoutMs`. */
  waitForMessage(phone: string, options?: { timeoutMs?: number }): Promise<M>;
  close(): void;
}

const digits = (phone: string) => phone.replace(/\D/g, "");

/** `what` names the messages in a timeout's error ("message", "SMS"). */
export function createMailbox<M extends { phone: string; code: string | undefined }>(
  what: string,
): Mailbox<M> {
  const messages: M[] = [];
  const timers = new Set<NodeJS.Timeout>();
  const closing = new AbortController();
  const waiters = new Set<{ phone: string; resolve: (message: M) => void }>();

  function later(ms: number, run: () => void) {
    const timer = setTimeout(() => {
      timers.delete(timer);
      run();
    }, ms);
    timer.unref?.();
    timers.add(timer);
  }

  return {
    messages,
    closing: closing.signal,
    later,
    add(message) {
      messages.push(message);
      for (const waiter of waiters) {
        if (waiter.phone === message.phone) {
          waiters.delete(waiter);
          waiter.resolve(message);
        }
      }
    },
    inbox: (phone) => messages.filter((m) => m.phone === digits(phone)),
    lastCode: (phone) => messages.findLast((m) => m.phone === digits(phone))?.code,
    waitForMessage(phone, { timeoutMs = 5000 } = {}) {
      return new Promise((resolve, reject) => {
        const waiter = { phone: digits(phone), resolve };
        waiters.add(waiter);
        later(timeoutMs, () => {
          if (waiters.delete(waiter))
            reject(new Error(`no ${what} to ${phone} within ${timeoutMs} ms`));
        });
      });
    },
    close() {
      for (const timer of timers) clearTimeout(timer);
      timers.clear();
      closing.abort();
    },
  };
}
