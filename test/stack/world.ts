// Small worlds built in code for the stack tests: hosts with lo, NICs on wires, veths into bridges.

import { Engine } from '../../src/sim/engine.js';
import { Loopback } from '../../src/devices/loopback.js';
import { Nic } from '../../src/devices/nic.js';
import { Wire } from '../../src/devices/wire.js';
import { Veth } from '../../src/devices/veth.js';
import { Bridge } from '../../src/devices/bridge.js';
import { Host } from '../../src/stack/host.js';
import { inetInit } from '../../src/sockets/inet.js';
import { parseMac } from '../../src/wire/addr.js';
import { Recorder } from './checker.js';

export const MS = 1_000_000;
export const SEC = 1_000_000_000;

export function engine(seed = 1): Engine {
  return new Engine({ seed });
}

/** A namespace with `lo` (127.0.0.1/8) up, as every Linux namespace has once lo is up. */
export function host(e: Engine, name: string, forward = false): Host {
  const h = new Host(e, name, { forward });
  inetInit(h);
  h.addDevice(new Loopback(e));
  h.addAddress('lo', '127.0.0.1/8');
  return h;
}

/** A NIC named `ifname` in `h`, plugged into `wire`, with address `cidr`; returns its recorder. */
export function nic(h: Host, wire: Wire, ifname: string, mac: string, cidr: string | null): { dev: Nic; rec: Recorder } {
  const dev = new Nic(h.engine, ifname, parseMac(mac));
  h.addDevice(dev);
  wire.attach(dev);
  if (cidr !== null) h.addAddress(ifname, cidr);
  return { dev, rec: Recorder.on(dev) };
}

export function wire(e: Engine, name = 'wan'): Wire {
  return new Wire(e, name);
}

/** A container-like namespace: its eth0 is a veth whose peer is a port of `br` (in `brHost`). */
export function container(e: Engine, br: Bridge, brHost: Host, name: string, mac: string, cidr: string, gw: string | null): { h: Host; eth0: Veth; rec: Recorder } {
  const h = host(e, name);
  const [inside, outside] = Veth.pair(e, { name: 'eth0', mac: parseMac(mac) }, { name: `veth-${name}`, mac: parseMac('ee' + mac.slice(2)) });
  h.addDevice(inside);
  brHost.addDevice(outside);
  br.addPort(outside);
  h.addAddress('eth0', cidr);
  if (gw !== null) h.addRoute({ to: 'default', via: gw });
  return { h, eth0: inside, rec: Recorder.on(inside) };
}

export { Bridge, Veth, Nic, Wire, Loopback, Host, Recorder };
