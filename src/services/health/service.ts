/**
 * grpc.health.v1.Health: SERVING while the server accepts calls, NOT_SERVING once it is
 * shutting down. The empty service name is the server as a whole; a service name it serves
 * answers the same; any other name is SERVICE_UNKNOWN (Check: NotFound, as the protocol says).
 */
import type { ServerWritableStream, UntypedServiceImplementation } from '@grpc/grpc-js';
import { notFound } from '../../errors.js';
import { unary, type MetadataCtor } from '../call.js';

export class HealthState {
  serving = true;
  private readonly watchers = new Set<() => void>();
  constructor(readonly services: () => string[]) {}

  stop(): void {
    this.serving = false;
    for (const w of this.watchers) w();
  }

  watch(fn: () => void): () => void {
    this.watchers.add(fn);
    return () => this.watchers.delete(fn);
  }
}

export function healthService(state: HealthState, Md: MetadataCtor): UntypedServiceImplementation {
  const known = (s: string) => s === '' || state.services().includes(s);
  const status = () => (state.serving ? 'SERVING' : 'NOT_SERVING');
  return {
    Check: unary(Md, 'Health.Check', async (req: { service?: string }) => {
      const s = req.service ?? '';
      if (!known(s)) throw notFound('ERR_UNKNOWN_SERVICE', `unknown service ${JSON.stringify(s)}`, { actual: s });
      return { status: status() };
    }),
    Watch: (call: ServerWritableStream<{ service?: string }, { status: string }>) => {
      const s = call.request.service ?? '';
      if (!known(s)) {
        call.write({ status: 'SERVICE_UNKNOWN' });
        return;
      }
      call.write({ status: status() });
      const stop = state.watch(() => {
        call.write({ status: status() });
        call.end();
      });
      call.on('cancelled', stop);
    },
  };
}
