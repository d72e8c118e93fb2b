// The complete example of docs/SCENARIO.md, built in: what `wirebox run` runs when given no file.
// test/scenario/load.test.ts checks that it is the docs' example, character for character.

/** File name the built-in example is reported under (in errors, and for its default name). */
export const BUILTIN_EXAMPLE_NAME = 'example.yaml';

export const BUILTIN_EXAMPLE = `version: 1
name: docker-bridge-nat
seed: 1                         # every random choice (ISNs, IP ids, ephemeral ports, unset MACs) derives from it
wires:                          # L2 segments outside any host: a LAN switch, or a cable between two hosts
  wan: {}
hosts:
  server:
    interfaces:
      eth0: { wire: wan, ip: 192.0.2.1/24, mac: "02:00:00:00:00:01" }
    services:
      - { tcp: 80, reply: "HTTP/1.0 200 OK\\r\\n\\r\\nhi" }
      - { udp: 7, echo: true }
  dh:                           # a Linux host running dockerd
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
