// The scenario `wirebox run` (and `wirebox real`) use when no file is given: a container on Docker's
// default bridge reaching a server on the LAN through MASQUERADE — ping, a TCP request, a UDP echo.

export const BUILTIN_EXAMPLE_NAME = 'builtin-example.yaml';

export const BUILTIN_EXAMPLE = `version: 1
name: docker-bridge-nat
seed: 1
wires:
  wan: {}
hosts:
  server:
    interfaces:
      eth0: { wire: wan, ip: 192.0.2.1/24, mac: "02:00:00:00:00:01" }
    services:
      - { tcp: 80, reply: "HTTP/1.0 200 OK\\r\\n\\r\\nhi" }
      - { udp: 7, echo: true }
  dh:
    interfaces:
      eth0: { wire: wan, ip: 192.0.2.10/24, mac: "02:00:00:00:00:10" }
    routes:
      - { to: default, via: 192.0.2.1 }
    docker:
      containers:
        web: { network: bridge }
traffic:
  - { at: 0ms,   from: web, ping: 192.0.2.1 }
  - { at: 200ms, from: web, tcp: "192.0.2.1:80", send: "GET / HTTP/1.0\\r\\n\\r\\n" }
  - { at: 400ms, from: web, udp: "192.0.2.1:7", send: "ping" }
`;
