// sshd allows 10 sessions per shared connection (MaxSessions): we keep to 8 per ControlMaster and
// queue the rest, so a burst of connections never has sessions refused by the server.
export const MAX_SESSIONS_PER_MASTER = 8;

class Slots {
  private used = 0;
  private readonly waiting: Array<() => void> = [];

  constructor(private readonly max: number) {}

  get inUse(): number {
    return this.used;
  }

  async acquire(): Promise<() => void> {
    if (this.used >= this.max) await new Promise<void>((resolve) => this.waiting.push(resolve));
    else this.used++;
    let released = false;
    return () => {
      if (released) return;
      released = true;
      const next = this.waiting.shift();
      // The slot passes straight to the next waiter: `used` stays as it is.
      if (next) next();
      else this.used--;
    };
  }
}

const masters = new Map<string, Slots>();

/** The session slots of the ControlMaster for this host id. */
export function masterSlots(hostId: string): Slots {
  let s = masters.get(hostId);
  if (!s) masters.set(hostId, (s = new Slots(MAX_SESSIONS_PER_MASTER)));
  return s;
}
