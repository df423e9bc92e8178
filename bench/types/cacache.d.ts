/** Minimal typing of the parts of cacache (devDependency, no bundled types) the benches use. */
declare module 'cacache' {
  interface PutOptions {
    algorithms?: string[];
    integrity?: string;
    size?: number;
  }
  function put(cache: string, key: string, data: Uint8Array | string, opts?: PutOptions): Promise<string>;
  const cacache: { put: typeof put };
  export default cacache;
  export { put };
}
