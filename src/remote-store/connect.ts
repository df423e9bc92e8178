/**
 * A connection to a `dist serve` (or any server speaking containerd's API): one channel,
 * shared by the service clients; every call carries the namespace header and, when given,
 * the lease the work happens under. Failures become ContentErrors (../services/grpc-errors.ts):
 * the server's own error when it sent one, else the status code's kind.
 */
import type { Client, ClientReadableStream, Metadata } from '@grpc/grpc-js';
import { formatAddress, grpcTarget, parseAddress, type Address } from '../services/address.js';
import { LEASE_HEADER, NAMESPACE_HEADER } from '../services/call.js';
import { fromServiceError } from '../services/grpc-errors.js';
import { clientConstructor, schema, type ServiceName } from '../services/schema.js';
import { CONNECTION_WINDOW } from '../services/flow-control.js';
import { MAX_MESSAGE } from '../services/limits.js';

export interface RemoteOptions {
  /** containerd namespace sent with every call (default `default`). */
  namespace?: string;
  /** Lease every call works under (`containerd-lease`): ingests and blobs join it. */
  lease?: string;
}

type Callback<T> = (err: unknown, res: T) => void;

export class Connection {
  private readonly clients = new Map<ServiceName, Client>();
  readonly where: string;

  private constructor(
    readonly address: Address,
    private readonly grpc: typeof import('@grpc/grpc-js'),
    private readonly first: Client,
    private readonly ctors: Map<ServiceName, new (...a: never[]) => Client>,
    readonly options: RemoteOptions,
  ) {
    this.where = formatAddress(address);
    this.clients.set('content', first);
  }

  static async open(address: string, options: RemoteOptions = {}): Promise<Connection> {
    const a = parseAddress(address);
    const { grpc } = await schema();
    const ctors = new Map<ServiceName, new (...a: never[]) => Client>();
    for (const n of ['content', 'images', 'leases', 'introspection', 'version', 'health'] as const) ctors.set(n, (await clientConstructor(n)) as never);
    const Content = ctors.get('content') as unknown as new (t: string, c: unknown, o: object) => Client;
    const first = new Content(grpcTarget(a), grpc.credentials.createInsecure(), {
      'grpc.max_receive_message_length': MAX_MESSAGE,
      'grpc.max_send_message_length': MAX_MESSAGE,
      // Node's default 64 KiB window makes every 1 MiB answer wait for 16 grants (../services/flow-control.ts).
      'grpc-node.flow_control_window': CONNECTION_WINDOW,
    });
    return new Connection(a, grpc, first, ctors, options);
  }

  /** The client for a service, on the shared channel. */
  client<T = Record<string, (...args: never[]) => unknown>>(name: ServiceName): T {
    let c = this.clients.get(name);
    if (!c) {
      const Ctor = this.ctors.get(name) as unknown as new (t: string, c: unknown, o: object) => Client;
      c = new Ctor(grpcTarget(this.address), this.grpc.credentials.createInsecure(), { channelOverride: this.first.getChannel() });
      this.clients.set(name, c);
    }
    return c as unknown as T;
  }

  metadata(extra: Record<string, string> = {}): Metadata {
    const md = new this.grpc.Metadata();
    md.set(NAMESPACE_HEADER, this.options.namespace ?? 'default');
    if (this.options.lease) md.set(LEASE_HEADER, this.options.lease);
    for (const [k, v] of Object.entries(extra)) md.set(k, v);
    return md;
  }

  /** A unary call; rejects with the call's ContentError. */
  unary<Res>(service: ServiceName, method: string, req: object, headers?: Record<string, string>): Promise<Res> {
    const c = this.client<Record<string, (req: object, md: Metadata, cb: Callback<Res>) => void>>(service);
    return new Promise((resolve, reject) => {
      c[method]!.call(c, req, this.metadata(headers), (err: unknown, res: Res) => (err ? reject(fromServiceError(err, this.where)) : resolve(res)));
    });
  }

  /** A server stream's messages; the stream's failure is thrown as its ContentError. */
  async *stream<Res>(service: ServiceName, method: string, req: object): AsyncGenerator<Res> {
    const c = this.client<Record<string, (req: object, md: Metadata) => ClientReadableStream<Res>>>(service);
    const call = c[method]!.call(c, req, this.metadata());
    try {
      for await (const m of call) yield m as Res;
    } catch (err) {
      throw fromServiceError(err, this.where);
    } finally {
      call.cancel();
    }
  }

  get grpcModule(): typeof import('@grpc/grpc-js') {
    return this.grpc;
  }

  close(): void {
    for (const c of this.clients.values()) c.close();
    this.clients.clear();
  }
}
