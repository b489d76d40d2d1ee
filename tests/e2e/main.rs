//! End-to-end tests: the real quorumctl binary, a private pcscd, virtual readers, the
//! applet running in jcardsim inside the card farm, and virtual OpenPGP cards
//! (sim/openpgp-card) in readers of their own. Tests share the simulator and take turns
//! (`farm::lock`); each one makes its own fresh cards.

mod add_card;
mod anchor;
mod bad_input;
mod core;
mod cut;
mod dh_cross;
mod dry_run;
mod early;
mod farm;
mod farm_smoke;
mod fixtures;
mod health;
mod hsm;
mod interrupt;
mod json;
mod log;
mod memlock;
mod mixed;
mod openpgp;
mod openpgp_init;
mod openpgp_modes;
mod openpgp_pinpad;
mod openpgp_pins;
mod openpgp_smoke;
mod pin_lifecycle;
mod pinpad;
mod pinpad_ceremony;
mod pinpad_smoke;
mod plan;
mod pulled;
mod reshare;
mod run;
mod secrets;
mod stats;
mod unplug;
