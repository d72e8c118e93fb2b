// A userland relay service (`{ tcp|udp: PORT, bind, forward: "IP:PORT" }`), as socat or moby's
// docker-proxy (cmd/docker-proxy) run it: ordinary sockets on both sides, so the backend sees a fresh
// connection from the relay's own address, never the client's packets.
//
// TCP follows tcp_proxy_linux.go: each accepted connection dials the backend (source address and port
// as routing and the ephemeral range pick them: net.DialTCP with no local address) and two brokers copy
// bytes; when one side reaches EOF its broker shuts down writing on the other (CloseWrite: a FIN), so a
// half-close passes through; once both directions are done both sockets are closed. A backend that
// cannot be reached closes the client connection (a RST if the client's bytes were never read, as
// tcp_close does with unread data).
//
// UDP follows udp_proxy_linux.go: one flow per client address and port, each with a socket of its own
// connected to the backend; answers go back through the listening socket from the very address the
// client sent to (the proxy reads it with IP_PKTINFO and sends with it). docker-proxy forgets a flow
// after 90 s without traffic; closing a UDP socket puts nothing on the wire, so flows here live for the
// whole run (a client reusing its port after 90 s would, on Linux, get a new backend port).

import type { ServicePlan } from '../plan/plan.js';
import type { TcpConnection } from '../sockets/tcp.js';
import type { UdpSocket } from '../sockets/udp.js';
import { parseIpv4 } from '../wire/addr.js';
import type { Namespace } from './world.js';

/** What a relay did, for the run summary and tests. */
export interface RelayStats {
  accepted: number;
  dialFailed: number;
  flows: number;
}

export function startRelay(ns: Namespace, svc: ServicePlan): RelayStats {
  const fwd = svc.forward!;
  const stats: RelayStats = { accepted: 0, dialFailed: 0, flows: 0 };
  const backend = parseIpv4(fwd.ip);
  if (svc.proto === 'tcp') {
    ns.tcp.listen({ addr: parseIpv4(svc.bind), port: svc.port, reuseport: svc.reuseport }, (client) => {
      stats.accepted++;
      tcpPair(ns, client, backend, fwd.port, stats);
    });
    return stats;
  }
  const flows = new Map<string, UdpSocket>();
  const listener = ns.host.udp.bind({ addr: svc.bind, port: svc.port, reuseport: svc.reuseport }, (data, from, fromPort, _reply, to) => {
    const key = `${from}:${fromPort}`;
    let flow = flows.get(key);
    if (flow === undefined) {
      stats.flows++;
      const s = ns.host.udp.bind({}, (answer) => {
        if (!listener.closed) listener.sendFrom(answer, to, from, fromPort);
      });
      try {
        s.connect(backend, fwd.port);
      } catch {
        s.close();
        return; // net.DialUDP failed (no route): the datagram is dropped, as docker-proxy logs and goes on
      }
      flows.set(key, s);
      flow = s;
    }
    flow.send(data);
  });
  return stats;
}

function tcpPair(ns: Namespace, client: TcpConnection, backend: number, port: number, stats: RelayStats): void {
  let clientEof = false;
  let backendEof = false;
  // Client bytes that arrived before the backend connected: docker-proxy only starts copying once
  // DialTCP returned, so they wait (in the kernel's receive queue there; here) and leave after the
  // handshake's ACK, never on it.
  const pending: Uint8Array[] = [];
  let up = false;
  const finish = (): void => {
    if (clientEof && backendEof) {
      client.close();
      server.close();
    }
  };
  const server = ns.tcp.connect(
    { dst: backend, dport: port },
    {
      onConnect: () => {
        up = true;
        for (const b of pending.splice(0)) server.send(b);
        if (clientEof) server.shutdown();
      },
      onData: (bytes) => {
        if (!clientGone()) client.send(bytes);
      },
      onPeerClose: () => {
        backendEof = true;
        client.shutdown();
        finish();
      },
      onError: () => {
        if (!up) {
          // DialTCP failed: client.Close() — with the client's bytes unread, tcp_close answers RST.
          stats.dialFailed++;
          if (pending.length > 0) client.abort();
          else client.close();
          return;
        }
        // The backend reset: its broker ends (CloseWrite on the client), the other follows at EOF.
        backendEof = true;
        client.shutdown();
        finish();
      },
    },
  );
  const clientGone = (): boolean => client.state === 'CLOSED';
  client.handlers = {
    onData: (bytes) => {
      if (!up) pending.push(bytes);
      else if (server.state !== 'CLOSED' && server.state !== 'TIME_WAIT') server.send(bytes);
    },
    onPeerClose: () => {
      clientEof = true;
      if (up) server.shutdown();
      finish();
    },
    onError: () => {
      clientEof = true;
      if (up) server.shutdown();
      finish();
    },
  };
}
