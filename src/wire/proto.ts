// IP protocol numbers (IANA; Linux's IPPROTO_*), defined once: the IPv4 header, checksums,
// conntrack and the transports all read them from here (wire/ipv4.ts re-exports IpProto).
export const IpProto = Object.freeze({ ICMP: 1, IGMP: 2, TCP: 6, UDP: 17 });
