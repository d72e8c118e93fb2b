// The version `wirebox --version` prints, in a module of its own so that bin/wirebox.js can answer
// --version without loading the CLI (commander and every subcommand).
export const VERSION = '0.1.0';
