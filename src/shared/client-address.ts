import type { IncomingMessage } from 'node:http';
import { BlockList, isIP } from 'node:net';

/**
 * Which peers may say who the client is, in `X-Forwarded-For`: none (the socket's peer is the
 * client), the nearest `hops` proxies, or the proxies at the given addresses and networks.
 */
export type TrustProxy =
  | { readonly kind: 'none' }
  | { readonly kind: 'hops'; readonly hops: number }
  | { readonly kind: 'addresses'; readonly list: BlockList };

export const TRUST_NONE: TrustProxy = { kind: 'none' };

/** `::ffff:10.0.0.1` (an IPv4 peer on a dual-stack socket) as `10.0.0.1`; other addresses as they are. */
function plain(address: string): string {
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(address);
  return mapped?.[1] ?? address;
}

/**
 * One `X-Forwarded-For` entry as an address, or null when it is not one (a port, a name, garbage).
 * An IPv6 zone (`fe80::1%eth0`) names an interface of the host that wrote it: meaningless here,
 * of any length, and left out.
 */
function forwardedAddress(entry: string): string | null {
  const address = plain(
    entry
      .trim()
      .replace(/^\[(.*)\]$/, '$1')
      .replace(/%.*$/, ''),
  );
  return isIP(address) === 0 ? null : address;
}

/**
 * Parses TRUST_PROXY: empty, `0` or `false` trust nobody; a whole number n trusts the n nearest
 * proxies; otherwise a comma-separated list of addresses and CIDR networks (IPv4 or IPv6).
 * Returns null when the value is none of these.
 */
export function parseTrustProxy(raw: string | undefined): TrustProxy | null {
  const value = raw?.trim() ?? '';
  if (value === '' || value === '0' || value.toLowerCase() === 'false') return TRUST_NONE;
  if (/^\d+$/.test(value)) {
    const hops = Number(value);
    return hops >= 1 && hops <= 100 ? { kind: 'hops', hops } : null;
  }
  const list = new BlockList();
  for (const item of value.split(',').map((part) => part.trim())) {
    const [address = '', prefix, ...rest] = item.split('/');
    const family = isIP(address);
    if (family === 0 || rest.length > 0) return null;
    const type = family === 4 ? 'ipv4' : 'ipv6';
    if (prefix === undefined) {
      list.addAddress(address, type);
      continue;
    }
    const bits = /^\d+$/.test(prefix) ? Number(prefix) : NaN;
    if (!(bits >= 0 && bits <= (family === 4 ? 32 : 128))) return null;
    list.addSubnet(address, bits, type);
  }
  return { kind: 'addresses', list };
}

function trusted(trust: TrustProxy, address: string, hop: number): boolean {
  switch (trust.kind) {
    case 'none':
      return false;
    case 'hops':
      return hop < trust.hops;
    case 'addresses':
      return trust.list.check(address, isIP(address) === 4 ? 'ipv4' : 'ipv6');
  }
}

/**
 * The client's address: the socket's peer, then, while the address in hand is a trusted proxy,
 * the entry before it in `X-Forwarded-For` (proxies append the peer they saw, so the header is
 * read from its right end). Entries a client wrote itself sit left of the first untrusted
 * address and are never reached; an entry that is no address stops the walk at the proxy that
 * passed it on.
 */
export function clientAddress(
  socketAddress: string | undefined,
  forwardedFor: string | undefined,
  trust: TrustProxy,
): string | null {
  if (socketAddress === undefined) return null;
  let address = plain(socketAddress);
  if (trust.kind === 'none' || forwardedFor === undefined) return address;
  const chain = forwardedFor.split(',');
  for (let hop = 0; hop < chain.length && trusted(trust, address, hop); hop++) {
    const previous = forwardedAddress(chain[chain.length - 1 - hop] ?? '');
    if (previous === null) break;
    address = previous;
  }
  return address;
}

/** The client address of an HTTP request or a WebSocket upgrade. */
export function requestClientAddress(req: IncomingMessage, trust: TrustProxy): string | null {
  const header = req.headers['x-forwarded-for'];
  return clientAddress(req.socket.remoteAddress, Array.isArray(header) ? header.join(',') : header, trust);
}
