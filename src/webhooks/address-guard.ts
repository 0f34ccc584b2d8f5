import { lookup as dnsLookup } from 'node:dns';
import { BlockList, isIP, type LookupFunction } from 'node:net';

/**
 * Where a webhook may not send (SSRF): anything that is not the public internet. Checked on
 * the URL when a webhook is saved, and on every address DNS returns when it is sent, where the
 * connection goes to the checked address itself (a second lookup could answer differently).
 */
const refused = new BlockList();
for (const [network, prefix] of [
  ['0.0.0.0', 8], // "this network", unspecified
  ['10.0.0.0', 8], // private
  ['100.64.0.0', 10], // carrier-grade NAT
  ['127.0.0.0', 8], // loopback
  ['169.254.0.0', 16], // link-local, cloud metadata (169.254.169.254)
  ['172.16.0.0', 12], // private
  ['192.0.0.0', 24], // IETF protocol assignments
  ['192.168.0.0', 16], // private
  ['198.18.0.0', 15], // benchmarking
  ['224.0.0.0', 4], // multicast
  ['240.0.0.0', 4], // reserved, broadcast
] as const) {
  refused.addSubnet(network, prefix, 'ipv4');
}
for (const [network, prefix] of [
  ['::', 128], // unspecified
  ['::1', 128], // loopback
  ['fc00::', 7], // unique local, incl. the EC2 metadata address fd00:ec2::254
  ['fe80::', 10], // link-local
  ['ff00::', 8], // multicast
  ['64:ff9b:1::', 48], // local-use NAT64
] as const) {
  refused.addSubnet(network, prefix, 'ipv6');
}

/** The IPv4 address an IPv6 address carries (IPv4-mapped, or NAT64 64:ff9b::/96), if any. */
function embeddedIpv4(address: string): string | null {
  const match = /^(?:::ffff:|64:ff9b::)(?:(\d+\.\d+\.\d+\.\d+)|([0-9a-f]{1,4}):([0-9a-f]{1,4}))$/i.exec(address);
  if (!match) return null;
  if (match[1]) return match[1];
  const high = parseInt(match[2], 16);
  const low = parseInt(match[3], 16);
  return [high >> 8, high & 255, low >> 8, low & 255].join('.');
}

/** Why `address` (an IP literal) may not be reached, or null when it may. */
export function refusedAddress(address: string): string | null {
  const family = isIP(address);
  if (family === 4) return refused.check(address, 'ipv4') ? `${address} is not a public address` : null;
  if (family === 6) {
    const v4 = embeddedIpv4(address);
    if (v4 !== null) return refusedAddress(v4) === null ? null : `${address} is not a public address`;
    return refused.check(address, 'ipv6') ? `${address} is not a public address` : null;
  }
  return `${address} is not an IP address`;
}

/** The host of a URL without IPv6 brackets. */
function bareHost(url: URL): string {
  return url.hostname.replace(/^\[(.*)\]$/, '$1');
}

/** Why `raw` cannot be a webhook URL (syntax and scheme, and literal addresses unless allowed), or null. */
export function urlProblem(raw: string, allowPrivate: boolean): string | null {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    return 'must be an absolute http(s) URL';
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') return 'must be an http or https URL';
  if (url.username || url.password) return 'must not carry a user name or password';
  if (allowPrivate) return null;
  const host = bareHost(url).toLowerCase();
  if (host === 'localhost' || host.endsWith('.localhost')) return `${host} is not a public address`;
  return isIP(host) ? refusedAddress(host) : null;
}

/**
 * A DNS lookup for node:http that answers only addresses that pass the check, so the socket
 * connects to the address that was checked. A name with any refused address is refused whole
 * (an attacker controlling DNS could otherwise race a public and a private answer).
 */
export function guardedLookup(allowPrivate: boolean): LookupFunction {
  return (hostname, options, callback) => {
    dnsLookup(hostname, { ...options, all: true }, (error, addresses) => {
      if (error) return callback(error, '', 0);
      const problem = allowPrivate ? null : addresses.map((a) => refusedAddress(a.address)).find((p) => p !== null);
      if (problem) return callback(Object.assign(new Error(`${hostname}: ${problem}`), { code: 'EADDRREFUSED' }), '', 0);
      if (options.all) return callback(null, addresses);
      const first = addresses[0];
      if (!first) return callback(Object.assign(new Error(`${hostname} has no address`), { code: 'ENOTFOUND' }), '', 0);
      callback(null, first.address, first.family);
    });
  };
}

/** Resolves `raw`'s host and reports a refused address (null when fine, or when it does not resolve now). */
export async function resolvedUrlProblem(raw: string, allowPrivate: boolean): Promise<string | null> {
  if (allowPrivate) return null;
  const host = bareHost(new URL(raw));
  if (isIP(host)) return null;
  return new Promise((resolve) => {
    dnsLookup(host, { all: true }, (error, addresses) => {
      // A name that does not resolve yet may by the time events are sent; each send checks again.
      if (error) return resolve(null);
      resolve(addresses.map((a) => refusedAddress(a.address)).find((p) => p !== null) ?? null);
    });
  });
}
