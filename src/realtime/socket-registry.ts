import type { WebSocket } from 'ws';
import type { Viewer } from '../auth/viewer.js';

/** An authenticated WebSocket and who is connected on it. */
export interface SocketInfo {
  readonly socket: WebSocket;
  readonly viewer: Viewer;
}

/** ADMIN_TOKEN has no token row; all its sockets count together. */
function tokenKey(viewer: Viewer): string {
  return viewer.tokenId ?? 'admin-token';
}

/**
 * The authenticated WebSockets of this server process, counted per token. The count is per
 * process: behind a load balancer, each instance allows its own maximum.
 */
export class SocketRegistry {
  readonly sockets = new Set<SocketInfo>();
  private readonly perToken = new Map<string, number>();

  constructor(private readonly maxPerToken: number) {}

  /** Registers the socket, unless its token already has the maximum open here (false then). */
  add(info: SocketInfo): boolean {
    const key = tokenKey(info.viewer);
    const open = this.perToken.get(key) ?? 0;
    if (open >= this.maxPerToken) return false;
    this.perToken.set(key, open + 1);
    this.sockets.add(info);
    return true;
  }

  remove(info: SocketInfo): void {
    if (!this.sockets.delete(info)) return;
    const key = tokenKey(info.viewer);
    const open = (this.perToken.get(key) ?? 1) - 1;
    if (open > 0) this.perToken.set(key, open);
    else this.perToken.delete(key);
  }
}
