// A limit of the emulator that a scenario reached (the packet pool, the number of captured frames):
// bad input for the user, who can shrink the scenario or raise the limit — never a crash or an
// out-of-memory death. The message names the limit and how to change it when it can be changed.

export class LimitError extends Error {
  override name = 'LimitError';
}
