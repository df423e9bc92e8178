/**
 * Runs `source` ahead of its consumer, holding at most `capacity` items: enumeration
 * (stat, readdir, stdin) overlaps with hashing, and memory stays bounded.
 */
export function runAhead<T>(source: AsyncIterable<T>, capacity: number): { next(): Promise<T | undefined>; stop(): void } {
  const items: T[] = [];
  let done = false;
  let failure: unknown;
  let stopped = false;
  let wakeConsumer: (() => void) | undefined;
  let wakeProducer: (() => void) | undefined;
  const wake = () => {
    const w = wakeConsumer;
    wakeConsumer = undefined;
    w?.();
  };

  void (async () => {
    try {
      for await (const item of source) {
        if (stopped) break;
        items.push(item);
        wake();
        while (items.length >= capacity && !stopped) await new Promise<void>((r) => (wakeProducer = r));
        if (stopped) break;
      }
    } catch (err) {
      failure = err;
    } finally {
      done = true;
      wake();
    }
  })();

  return {
    async next() {
      while (items.length === 0) {
        if (failure) throw failure;
        if (done) return undefined;
        await new Promise<void>((r) => (wakeConsumer = r));
      }
      const item = items.shift()!;
      const w = wakeProducer;
      wakeProducer = undefined;
      w?.();
      return item;
    },
    stop() {
      stopped = true;
      const w = wakeProducer;
      wakeProducer = undefined;
      w?.();
    },
  };
}
