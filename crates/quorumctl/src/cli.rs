//! Command-line grammar of quorumctl: one struct per subcommand, no behaviour.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};
use quorum_ceremony::log::PersonName;

/// A name for the log: 1 to 64 bytes of UTF-8 without control characters.
fn person_name(text: &str) -> Result<PersonName, String> {
    PersonName::parse(text).map_err(|_| {
        "a name is 1 to 64 bytes of text without control characters (tabs, line breaks)".to_owned()
    })
}

/// quorumctl: back up a master key to n-of-m custodian smart cards, and restore it.
#[derive(Debug, Parser)]
#[command(name = "quorumctl", version, about, long_about = None, disable_help_subcommand = true)]
pub struct Cli {
    /// Print every APDU to standard error (PINs, sealed shares and unseal data redacted).
    #[arg(long, global = true, help_heading = "Global options")]
    pub trace: bool,
    /// Ceremony log to append to, or to verify (default: $QUORUM_LOG, else
    /// $XDG_STATE_HOME/quorum/ceremony-log.jsonl or ~/.local/state/quorum/ceremony-log.jsonl).
    #[arg(
        long,
        global = true,
        help_heading = "Global options",
        value_name = "FILE"
    )]
    pub log: Option<PathBuf>,
    /// Print the result as one JSON document on standard output (progress stays on standard error).
    #[arg(long, global = true, help_heading = "Global options")]
    pub json: bool,
    /// Write no ceremony log line for this run.
    #[arg(
        long,
        global = true,
        help_heading = "Global options",
        conflicts_with = "log"
    )]
    pub no_log: bool,
    /// Who runs this ceremony, as the log line and the minutes name them (default:
    /// $QUORUM_OPERATOR): 1 to 64 bytes, no control characters.
    #[arg(
        long,
        global = true,
        help_heading = "Global options",
        value_name = "NAME",
        value_parser = person_name
    )]
    pub operator: Option<PersonName>,
    /// A witness of this ceremony, named in its log line; repeat for each witness (at most 32).
    #[arg(
        long = "witness",
        global = true,
        help_heading = "Global options",
        value_name = "NAME",
        value_parser = person_name
    )]
    pub witnesses: Vec<PersonName>,
    #[command(subcommand)]
    pub command: Command,
}

/// The ceremonies and inspections quorumctl performs.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// List readers and the cards in them (applet found or not, state, label).
    Readers,
    /// Show one card's public information; needs no PIN.
    Status(CardArgs),
    /// Personalise a blank card: set its PIN and generate its key pair on the card.
    Init(InitArgs),
    /// Split a master secret n-of-m onto the personalised cards presented.
    Enroll(EnrollArgs),
    /// Collect cards until n shares of one set open, and restore the master secret.
    Recover(RecoverArgs),
    /// Health check: prove each card presented still opens its share, without other cards.
    Verify(VerifyArgs),
    /// Issue a share of an existing set to one new card, with a quorum of the set present.
    AddCard(AddCardArgs),
    /// Move the master to a new set (new n, m, key and set id) with a quorum of the old set
    /// present; the new set is written and checked before any old card is wiped.
    Reshare(ReshareArgs),
    /// Change a card's PIN (on the reader's keypad when it has one).
    ChangePin(ChangePinArgs),
    /// Factory-reset a card: erase its key, PIN and record (destroys its share).
    ResetCard(ResetArgs),
    /// Write a set's bundle again from the public records of the cards present (no PIN).
    ExportBundle(ExportArgs),
    /// Show what a bundle file describes (set, custodians, records); needs no card.
    Inspect(InspectArgs),
    /// Check the hash-chained ceremony log.
    #[command(subcommand)]
    Log(LogCommand),
    /// Write, check and print the paperwork of an enrollment: its plan and its runbook.
    #[command(subcommand)]
    Plan(PlanCommand),
    /// Print the help of quorumctl, or of one command (`quorumctl help log verify`).
    Help(HelpArgs),
    /// Write the man pages or a shell's completions made from this grammar (for packagers
    /// and scripts/install; hidden from the ceremony commands).
    #[command(subcommand, hide = true)]
    Generate(GenerateCommand),
}

/// What `generate` writes.
#[derive(Debug, Subcommand)]
pub enum GenerateCommand {
    /// Write man pages (section 1): quorumctl.1 and one per command, such as quorumctl-enroll.1.
    Man(GenerateManArgs),
    /// Write the completions of one shell: to standard output, or to --dir under the file
    /// name that shell looks for (quorumctl, _quorumctl, quorumctl.fish).
    Completions(GenerateCompletionsArgs),
}

/// Options of `generate man`.
#[derive(Debug, Args)]
pub struct GenerateManArgs {
    /// Folder to write the pages to (made if missing; pages already there are replaced).
    #[arg(value_name = "DIR")]
    pub dir: PathBuf,
}

/// Options of `generate completions`.
#[derive(Debug, Args)]
pub struct GenerateCompletionsArgs {
    /// The shell.
    #[arg(value_name = "SHELL")]
    pub shell: clap_complete::Shell,
    /// Folder to write the file to (made if missing), instead of standard output.
    #[arg(long, value_name = "DIR")]
    pub dir: Option<PathBuf>,
}

/// The grammar as clap sees it, with the long `--version` (commit and formats).
pub fn command() -> clap::Command {
    use clap::CommandFactory;
    // clap keeps a version as a `&'static str`; this runs once per process.
    Cli::command().long_version(&*crate::version::long_version().leak())
}

/// Parses the command line against [`command`], exiting with clap's message on a usage error.
pub fn parse() -> Cli {
    use clap::FromArgMatches;
    Cli::from_arg_matches(&command().get_matches()).unwrap_or_else(|e| e.exit())
}

/// Options of `help`.
#[derive(Debug, Args)]
pub struct HelpArgs {
    /// The command whose help to print (default: quorumctl's own).
    #[arg(value_name = "COMMAND")]
    pub command: Vec<String>,
}

/// Options of `inspect`.
#[derive(Debug, Args)]
pub struct InspectArgs {
    /// Print a JSON document instead of text.
    #[arg(long)]
    pub json: bool,
    /// The bundle file written by enroll.
    #[arg(value_name = "BUNDLE")]
    pub bundle: PathBuf,
}

/// What `log` does.
#[derive(Debug, Subcommand)]
pub enum LogCommand {
    /// Walk the chain and report the first edited, removed, reordered or inserted line.
    Verify(LogVerifyArgs),
}

/// Options of `log verify`.
#[derive(Debug, Args)]
pub struct LogVerifyArgs {
    /// The head recorded in the ceremony minutes, as printed in groups of four or not (64 hex
    /// digits, or the first 8 or more; spaces and dashes ignored): the log must end exactly
    /// there (catches a cut tail).
    #[arg(long, value_name = "HASH")]
    pub expect_head: Option<String>,
}

/// Which card: the one reader named, or the only card present.
#[derive(Debug, Args)]
pub struct CardArgs {
    /// Reader to use (its full name or a unique part of it); default: the only card present.
    #[arg(long, short = 'r')]
    pub reader: Option<String>,
    /// Print the number of APDU round trips per card to standard error (after SELECT).
    #[arg(long)]
    pub stats: bool,
}

/// Where PINs come from when nobody types them.
#[derive(Debug, Args, Default)]
pub struct PinArgs {
    /// Read PINs from FILE instead of the keyboard: one PIN for every card, or lines "FINGERPRINT PIN".
    #[arg(long, value_name = "FILE", conflicts_with = "pin_fd")]
    pub pin_file: Option<PathBuf>,
    /// Read PINs, in the --pin-file format, from inherited file descriptor N.
    #[arg(long, value_name = "N")]
    pub pin_fd: Option<i32>,
    /// Do not use a reader's PIN pad: take PINs from this computer even where the reader has a keypad.
    #[arg(long)]
    pub no_pinpad: bool,
    /// Seconds a PIN pad waits for each PIN entry.
    #[arg(long, default_value_t = 30, value_name = "SECONDS", value_parser = clap::value_parser!(u8).range(1..))]
    pub pinpad_timeout: u8,
}

/// Where a ceremony's cards come from: every reader, one reader with cards swapped, or a mix.
#[derive(Debug, Args)]
pub struct SwapArgs {
    /// Use one reader and swap the cards through it, instead of every reader.
    #[arg(long, short = 'r', conflicts_with = "any_reader")]
    pub reader: Option<String>,
    /// Use the cards present, then wait for more cards in any reader (fewer readers than cards).
    #[arg(long)]
    pub any_reader: bool,
    /// Seconds to wait for each card to be inserted or removed (0: wait without a limit;
    /// Ctrl-C still stops the ceremony).
    #[arg(long, default_value_t = 300, value_name = "SECONDS")]
    pub timeout: u64,
}

/// Options of `init`.
#[derive(Debug, Args)]
pub struct InitArgs {
    /// Check the options, the files and the cards in the readers now, and say what each card
    /// would do: no PIN is asked, no card or file is written, nothing is logged.
    #[arg(long)]
    pub dry_run: bool,
    #[command(flatten)]
    pub card: CardArgs,
    /// Wrong PIN entries allowed before the card blocks for good (3 to 10; default 5).
    /// Quorum-applet cards only: an OpenPGP card keeps its own PIN retry counters.
    #[arg(long, value_name = "N",
          value_parser = clap::value_parser!(u8).range(i64::from(quorum_protocol::pin::RETRY_LIMIT_MIN)..=i64::from(quorum_protocol::pin::RETRY_LIMIT_MAX)))]
    pub retries: Option<u8>,
    #[command(flatten)]
    pub pins: PinArgs,
    /// OpenPGP card: read its admin PIN (first line of FILE), needed only to generate the
    /// decryption key (default: the reader's keypad, else a prompt without echo).
    #[arg(long, value_name = "FILE")]
    pub admin_pin_file: Option<PathBuf>,
    /// OpenPGP card: use the cv25519 decryption key it has without asking (for scripts).
    #[arg(long, conflicts_with = "replace_key")]
    pub use_existing_key: bool,
    /// OpenPGP card: generate a new decryption key even though it has one, DESTROYING that
    /// key (confirmed by typing its fingerprint, or with --confirm-replace).
    #[arg(long)]
    pub replace_key: bool,
    /// Confirm --replace-key without a prompt by giving the fingerprint of the key it
    /// destroys (quorum's, as `status` shows it, or its OpenPGP fingerprint).
    #[arg(long, value_name = "FINGERPRINT", requires = "replace_key")]
    pub confirm_replace: Option<String>,
}

/// Options of `enroll`.
#[derive(Debug, Args)]
pub struct EnrollArgs {
    /// Check the options, the files and the cards in the readers now, and say what each card
    /// would do: no PIN is asked, no card or file is written, nothing is logged.
    #[arg(long)]
    pub dry_run: bool,
    /// Print the number of APDU round trips per card to standard error (after SELECT).
    #[arg(long)]
    pub stats: bool,
    /// Number of cards needed to recover (n), 1 to m (1 needs --allow-single-card).
    #[arg(long, short = 'n', value_name = "N", value_parser = clap::value_parser!(u8).range(1..),
          required_unless_present = "plan", conflicts_with = "plan")]
    pub threshold: Option<u8>,
    /// Allow --threshold 1: any one card, with its PIN, recovers the master alone.
    #[arg(long)]
    pub allow_single_card: bool,
    /// Number of cards to enroll (m); default: every personalised card present. Required with --reader.
    #[arg(long, short = 'm', value_name = "M")]
    pub shares: Option<u8>,
    /// Read the master secret from FILE (default: standard input).
    #[arg(long = "in", value_name = "FILE", conflicts_with_all = ["generate", "from_pkcs11", "generate_in_pkcs11"])]
    pub input: Option<PathBuf>,
    /// Back up the key --key-label of token --token-label through this PKCS#11 module: the
    /// token wraps it to a one-time key made here, so it never lies on disk.
    #[arg(long, value_name = "MODULE", requires_all = ["token_label", "key_label"],
          conflicts_with_all = ["generate", "generate_in_pkcs11"])]
    pub from_pkcs11: Option<PathBuf>,
    /// Have the token of this PKCS#11 module generate the key --key-label (--key-type aes or
    /// generic-secret, --key-bytes long), and back it up in the same ceremony.
    #[arg(long, value_name = "MODULE", requires_all = ["token_label", "key_label", "key_type"],
          conflicts_with_all = ["generate", "out"])]
    pub generate_in_pkcs11: Option<PathBuf>,
    /// Length in bytes of the key --generate-in-pkcs11 makes.
    #[arg(long, value_name = "BYTES", default_value_t = 32, requires = "generate_in_pkcs11",
          value_parser = clap::value_parser!(u16).range(1..=512))]
    pub key_bytes: u16,
    /// Generate a random master secret of BYTES bytes (written to --out).
    #[arg(long, value_name = "BYTES", requires = "out", value_parser = clap::value_parser!(u16).range(1..=quorum_ceremony::secret_io::MAX_MASTER_LEN as i64))]
    pub generate: Option<u16>,
    /// Where to write the generated master secret (mode 0600).
    #[arg(long, value_name = "FILE")]
    pub out: Option<PathBuf>,
    /// Replace existing output and bundle files.
    #[arg(long)]
    pub force: bool,
    /// Name of the set, stored on every card (for example "root-ca-2026").
    #[arg(
        long,
        value_name = "TEXT",
        required_unless_present = "plan",
        conflicts_with = "plan"
    )]
    pub label: Option<String>,
    /// Follow this plan file (`quorumctl plan new`): its label, threshold, custodians and
    /// cards; a card it does not name is refused before its PIN is asked.
    #[arg(long, value_name = "FILE", conflicts_with_all = ["names", "shares"])]
    pub plan: Option<PathBuf>,
    /// Custodian names, one per card: FINGERPRINT=NAME, repeated (default: "custodian K");
    /// add-card takes the same form, or NAME alone (it writes one card).
    #[arg(long = "name", value_name = "FINGERPRINT=NAME")]
    pub names: Vec<String>,
    /// Where to write the public set description (default: LABEL.quorum.json).
    #[arg(long, value_name = "FILE")]
    pub bundle: Option<PathBuf>,
    /// Overwrite cards that hold a set whose enrollment started and never completed, as the
    /// ceremony log records it (an interrupted enroll); cards of a completed set are refused.
    #[arg(long)]
    pub replace_unfinished: bool,
    /// With --from-pkcs11: the type the key must have in the token; with --generate-in-pkcs11:
    /// the type to make (aes or generic-secret).
    #[arg(long, value_name = "TYPE", value_enum)]
    pub key_type: Option<KeyTypeArg>,
    #[command(flatten)]
    pub token: TokenArgs,
    #[command(flatten)]
    pub cards: SwapArgs,
    #[command(flatten)]
    pub pins: PinArgs,
}

/// Which token and which key object, and where the token's user PIN comes from.
#[derive(Debug, Args)]
pub struct TokenArgs {
    /// Label of the token in the PKCS#11 module (as `pkcs11-tool --list-slots` shows it).
    #[arg(long, value_name = "T")]
    pub token_label: Option<String>,
    /// Label (CKA_LABEL) of the key object in the token.
    #[arg(long, value_name = "K")]
    pub key_label: Option<String>,
    /// Read the token's user PIN from FILE (its first line); default: typed on this computer
    /// without echo, or on the HSM's own PIN pad where the token has one.
    #[arg(long, value_name = "FILE")]
    pub token_pin_file: Option<PathBuf>,
}

/// The key types quorum moves into and out of a token.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum KeyTypeArg {
    /// An AES key of 16, 24 or 32 bytes.
    Aes,
    /// A generic secret (HMAC, derivation) of 1 to 512 bytes.
    GenericSecret,
    /// A P-256 private key given as PKCS#8 DER.
    EcP256,
    /// An RSA private key given as PKCS#8 DER.
    Rsa,
}

/// The AES operations an imported key may perform (PKCS#11 usage attributes).
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum AesUseArg {
    /// CKA_ENCRYPT (also what lets the token compute the check value).
    Encrypt,
    /// CKA_DECRYPT.
    Decrypt,
    /// CKA_WRAP.
    Wrap,
    /// CKA_UNWRAP.
    Unwrap,
}

/// Options of `recover`.
#[derive(Debug, Args)]
pub struct RecoverArgs {
    /// Print the number of APDU round trips per card to standard error (after SELECT).
    #[arg(long)]
    pub stats: bool,
    /// Write the master secret to FILE (mode 0600), or to standard output with `--out -`
    /// (never a terminal); recover needs this or --to-pkcs11.
    #[arg(long, value_name = "FILE")]
    pub out: Option<PathBuf>,
    /// Import the master secret into token --token-label through this PKCS#11 module as key
    /// --key-label of --key-type, wrapped on the way: it is written nowhere else.
    #[arg(long, value_name = "MODULE", conflicts_with = "out",
          requires_all = ["token_label", "key_label", "key_type"])]
    pub to_pkcs11: Option<PathBuf>,
    /// The type of key the secret becomes in the token.
    #[arg(long, value_name = "TYPE", value_enum, requires = "to_pkcs11")]
    pub key_type: Option<KeyTypeArg>,
    /// What an imported AES key may do, comma-separated (default: all four).
    #[arg(
        long,
        value_name = "USES",
        value_enum,
        value_delimiter = ',',
        requires = "to_pkcs11"
    )]
    pub key_usage: Vec<AesUseArg>,
    /// Replace the objects that already carry --key-label, once the new key is proven.
    #[arg(long, requires = "to_pkcs11")]
    pub replace: bool,
    /// Where the token accepts no wrapped import, create the key from its plaintext value
    /// (C_CreateObject); FIPS-mode HSMs refuse this, and it is never done silently.
    #[arg(long, requires = "to_pkcs11")]
    pub allow_plaintext_import: bool,
    #[command(flatten)]
    pub token: TokenArgs,
    /// Replace FILE if it exists.
    #[arg(long)]
    pub force: bool,
    /// Recover the set this bundle describes: only its cards count, and its descriptions are authenticated.
    #[arg(long, value_name = "FILE")]
    pub bundle: Option<PathBuf>,
    /// Recover the set with this set digest (at least 8 hex digits, as enroll printed it).
    #[arg(long, value_name = "DIGEST")]
    pub expect: Option<String>,
    /// Recover the set with this label or set id prefix (weaker than --bundle or --expect: a forged set can copy both).
    #[arg(long, value_name = "LABEL_OR_ID", conflicts_with_all = ["bundle", "expect"])]
    pub set: Option<String>,
    #[command(flatten)]
    pub cards: SwapArgs,
    #[command(flatten)]
    pub pins: PinArgs,
}

/// Options of `reset-card`.
#[derive(Debug, Args)]
pub struct ResetArgs {
    /// Check the options, the files and the cards in the readers now, and say what each card
    /// would do: no PIN is asked, no card or file is written, nothing is logged.
    #[arg(long)]
    pub dry_run: bool,
    #[command(flatten)]
    pub card: CardArgs,
    /// Confirm without a prompt by giving the card's fingerprint (as `status` shows it).
    #[arg(long, value_name = "FINGERPRINT")]
    pub confirm: Option<String>,
}

/// Options of `change-pin`.
#[derive(Debug, Args)]
pub struct ChangePinArgs {
    /// Check the options, the files and the cards in the readers now, and say what each card
    /// would do: no PIN is asked, no card or file is written, nothing is logged.
    #[arg(long)]
    pub dry_run: bool,
    #[command(flatten)]
    pub card: CardArgs,
    #[command(flatten)]
    pub pins: PinArgs,
    /// Read the new PIN from FILE (one line) when the current one comes from --pin-file/--pin-fd.
    #[arg(long, value_name = "FILE")]
    pub new_pin_file: Option<PathBuf>,
}

/// Options of `verify`.
#[derive(Debug, Args)]
pub struct VerifyArgs {
    /// Print the number of APDU round trips per card to standard error (after SELECT).
    #[arg(long)]
    pub stats: bool,
    /// The set's bundle file: also check that each card's record agrees with it.
    #[arg(long, value_name = "FILE")]
    pub bundle: Option<PathBuf>,
    /// With --reader or --any-reader: how many cards to check, one after the other.
    #[arg(long, default_value_t = 1, value_name = "K", value_parser = clap::value_parser!(u8).range(1..))]
    pub count: u8,
    /// Prove the card holds its key with a fresh challenge and never read its share here (for an everyday computer).
    #[arg(long)]
    pub no_open: bool,
    #[command(flatten)]
    pub cards: SwapArgs,
    #[command(flatten)]
    pub pins: PinArgs,
}

/// Options of `add-card`.
#[derive(Debug, Args)]
pub struct AddCardArgs {
    /// Check the options, the files and the cards in the readers now, and say what each card
    /// would do: no PIN is asked, no card or file is written, nothing is logged.
    #[arg(long)]
    pub dry_run: bool,
    /// Print the number of APDU round trips per card to standard error (after SELECT).
    #[arg(long)]
    pub stats: bool,
    /// The set's bundle file: the published description the new card extends. It is
    /// replaced by the new version; the old one is kept as FILE.vN (N: its version).
    #[arg(long, value_name = "FILE")]
    pub bundle: PathBuf,
    /// Write the new version of the bundle here instead of replacing --bundle.
    #[arg(long, value_name = "FILE")]
    pub out_bundle: Option<PathBuf>,
    /// Replace an existing --out-bundle file or FILE.vN backup.
    #[arg(long)]
    pub force: bool,
    /// The new card's fingerprint (needed when several personalised cards are present).
    #[arg(long = "new", value_name = "FINGERPRINT")]
    pub new_card: Option<String>,
    /// The new custodian's name: NAME, or FINGERPRINT=NAME as enroll and reshare take it
    /// (the fingerprint then picks the new card, as --new does); default: "custodian K".
    #[arg(long, value_name = "[FINGERPRINT=]NAME")]
    pub name: Option<String>,
    #[command(flatten)]
    pub cards: SwapArgs,
    #[command(flatten)]
    pub pins: PinArgs,
}

/// Options of `reshare`.
#[derive(Debug, Args)]
pub struct ReshareArgs {
    /// Check the options, the files and the cards in the readers now, and say what each card
    /// would do: no PIN is asked, no card or file is written, nothing is logged.
    #[arg(long)]
    pub dry_run: bool,
    /// Print the number of APDU round trips per card to standard error (after SELECT).
    #[arg(long)]
    pub stats: bool,
    /// Number of cards the new set needs to recover (n), 1 to m (1 needs --allow-single-card).
    #[arg(long, short = 'n', value_name = "N", value_parser = clap::value_parser!(u8).range(1..))]
    pub threshold: u8,
    /// Allow --threshold 1: any one card of the new set, with its PIN, recovers the master alone.
    #[arg(long)]
    pub allow_single_card: bool,
    /// Number of cards in the new set (m); default: every card that can join. Required with --reader.
    #[arg(long, short = 'm', value_name = "M")]
    pub shares: Option<u8>,
    /// Name of the new set.
    #[arg(long, value_name = "TEXT")]
    pub label: String,
    /// The old set's bundle, to check its cards against (optional).
    #[arg(long, value_name = "FILE")]
    pub bundle: Option<PathBuf>,
    /// Reshare this old set (its id, as `status` shows); default: the first old card's set.
    #[arg(long, value_name = "SET_ID")]
    pub set: Option<String>,
    /// Where to write the new set's bundle (default: LABEL.quorum.json).
    #[arg(long, value_name = "FILE")]
    pub new_bundle: Option<PathBuf>,
    /// Replace an existing --new-bundle file.
    #[arg(long)]
    pub force: bool,
    /// An old card that joins the new set (its old share is overwritten), by fingerprint; repeated.
    #[arg(long, value_name = "FINGERPRINT")]
    pub reuse: Vec<String>,
    /// New custodian names: FINGERPRINT=NAME, repeated (default: "custodian K").
    #[arg(long = "name", value_name = "FINGERPRINT=NAME")]
    pub names: Vec<String>,
    /// Do not wipe the old cards the new set does not use (the old set stays usable).
    #[arg(long)]
    pub keep_old: bool,
    /// Take cards that hold a set whose writing started and never completed, as the
    /// ceremony log records it (an interrupted reshare or enroll), as fresh new-set cards.
    #[arg(long)]
    pub replace_unfinished: bool,
    #[command(flatten)]
    pub cards: SwapArgs,
    #[command(flatten)]
    pub pins: PinArgs,
}

/// Options of `export-bundle`.
#[derive(Debug, Args)]
pub struct ExportArgs {
    /// Print the number of APDU round trips per card to standard error (after SELECT).
    #[arg(long)]
    pub stats: bool,
    /// Where to write the bundle.
    #[arg(long, value_name = "FILE")]
    pub out: PathBuf,
    /// Replace FILE if it exists.
    #[arg(long)]
    pub force: bool,
    /// Export this set (its id, as `status` shows) when cards of several sets are present.
    #[arg(long, value_name = "SET_ID")]
    pub set: Option<String>,
    /// Read only the card in this reader; default: every card present.
    #[arg(long, short = 'r')]
    pub reader: Option<String>,
}

/// The paperwork commands: a plan reviewed before the ceremony and followed by
/// `enroll --plan`, and the runbook printed for the people at the table.
#[derive(Debug, Subcommand)]
pub enum PlanCommand {
    /// Write a plan file: the set's label and threshold, each custodian's name and card
    /// (the operator and witnesses from --operator and --witness).
    New(PlanNewArgs),
    /// Check a plan file, and with --cards that the cards present are exactly the planned ones (no PIN).
    Check(PlanCheckArgs),
    /// Write the runbook and minutes template of a planned enrollment (Markdown or HTML), to print and sign.
    Runbook(RunbookArgs),
}

/// Options of `plan new`.
#[derive(Debug, Args)]
pub struct PlanNewArgs {
    /// Name of the set, as every card will carry it.
    #[arg(long, value_name = "TEXT")]
    pub label: String,
    /// Number of cards needed to recover (n).
    #[arg(long, short = 'n', value_name = "N", value_parser = clap::value_parser!(u8).range(1..))]
    pub threshold: u8,
    /// A custodian and their card: FINGERPRINT=NAME as enroll's --name takes it (or
    /// NAME=FINGERPRINT), the fingerprint as init and status show it; once per custodian,
    /// in share order.
    #[arg(long, value_name = "FINGERPRINT=NAME", required = true)]
    pub custodian: Vec<String>,
    /// Where the enrollment will write the bundle (default: LABEL.quorum.json).
    #[arg(long, value_name = "FILE")]
    pub bundle: Option<PathBuf>,
    /// Where to write the plan.
    #[arg(long, value_name = "FILE")]
    pub out: PathBuf,
    /// Replace FILE if it exists.
    #[arg(long)]
    pub force: bool,
}

/// Options of `plan check`.
#[derive(Debug, Args)]
pub struct PlanCheckArgs {
    /// The plan file.
    #[arg(value_name = "PLAN")]
    pub plan: PathBuf,
    /// Also check that the cards in the readers are exactly the planned ones (no PIN asked).
    #[arg(long)]
    pub cards: bool,
}

/// Options of `plan runbook`.
#[derive(Debug, Args)]
pub struct RunbookArgs {
    /// The plan file; without it, the minutes of a finished enrollment are made from its
    /// --bundle (and the ceremony log's line of it).
    #[arg(value_name = "PLAN", required_unless_present = "bundle")]
    pub plan: Option<PathBuf>,
    /// Where to write the runbook.
    #[arg(long, value_name = "FILE")]
    pub out: PathBuf,
    /// Markdown or HTML (default: by the --out file's extension, .html for HTML).
    #[arg(long, value_enum)]
    pub format: Option<RunbookFormat>,
    /// After the ceremony: the bundle it wrote, whose set id, digest and key check the
    /// runbook then carries for the witnesses to compare.
    #[arg(long, value_name = "FILE")]
    pub bundle: Option<PathBuf>,
    /// Replace FILE if it exists.
    #[arg(long)]
    pub force: bool,
}

/// How a runbook is written.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum RunbookFormat {
    /// Markdown, for a repository or a Markdown printer.
    Markdown,
    /// One self-contained HTML page, for a browser's print.
    Html,
}
