// `docker run -p` in every form docker's CLI takes (go-connections nat.ParsePortSpec):
//   CONTAINER_PORT[/PROTO]                      host port chosen by dockerd (0 here)
//   HOST_PORT:CONTAINER_PORT[/PROTO]
//   HOST_IP:HOST_PORT:CONTAINER_PORT[/PROTO]
//   HOST_IP::CONTAINER_PORT[/PROTO]             host port chosen by dockerd
// where each port may be a range A-B. Ranges of equal length map pairwise; a host range with one
// container port means "one free port of that range" (dockerd tries them in order: the first free);
// a container range needs a host range of the same length or none (docker: "Invalid ranges specified
// for container and host Ports").

import { ipv4ToNum } from './values.js';

export interface PublishMapping {
  hostIp: string | null;
  /** 0: dockerd picks one (the first free port of ip_local_port_range, 32768 on a default host). */
  hostPort: number;
  /** A host port range of which dockerd takes the first free port; null unless written as one. */
  hostRange: { first: number; last: number } | null;
  containerPort: number;
  proto: 'tcp' | 'udp';
}

function portOrRange(s: string): { first: number; last: number } | null {
  const m = /^(\d{1,5})(?:-(\d{1,5}))?$/.exec(s);
  if (!m) return null;
  const first = Number(m[1]);
  const last = m[2] === undefined ? first : Number(m[2]);
  if (first < 1 || last > 65535 || last < first) return null;
  return { first, last };
}

/** The mappings one `-p` value stands for, in port order; null when docker would refuse it. */
export function parsePublish(s: string): PublishMapping[] | null {
  let proto: 'tcp' | 'udp' = 'tcp';
  let body = s;
  const slash = s.indexOf('/');
  if (slash >= 0) {
    const p = s.slice(slash + 1);
    if (p !== 'tcp' && p !== 'udp') return null;
    proto = p;
    body = s.slice(0, slash);
  }
  const parts = body.split(':');
  let hostIp: string | null = null;
  let hostText = '';
  if (parts.length === 3) {
    if (ipv4ToNum(parts[0]!) === null) return null;
    hostIp = parts[0]!;
    hostText = parts[1]!;
  } else if (parts.length === 2) {
    hostText = parts[0]!;
    if (hostText === '') return null;
  } else if (parts.length !== 1) {
    return null;
  }
  const inner = portOrRange(parts[parts.length - 1]!);
  if (inner === null) return null;
  const host = hostText === '' ? null : portOrRange(hostText);
  if (hostText !== '' && host === null) return null;
  const n = inner.last - inner.first + 1;
  const out: PublishMapping[] = [];
  if (host === null) {
    for (let i = 0; i < n; i++) out.push({ hostIp, hostPort: 0, hostRange: null, containerPort: inner.first + i, proto });
    return out;
  }
  const hn = host.last - host.first + 1;
  if (n === 1 && hn > 1) return [{ hostIp, hostPort: host.first, hostRange: host, containerPort: inner.first, proto }];
  if (hn !== n) return null;
  for (let i = 0; i < n; i++) out.push({ hostIp, hostPort: host.first + i, hostRange: null, containerPort: inner.first + i, proto });
  return out;
}
