// The iptables-save printer moved to src/plan/iptables-save.ts (it prints plans and reads nothing
// else, so plan no longer imports netfilter). This re-export keeps older imports working.
export * from '../plan/iptables-save.js';
