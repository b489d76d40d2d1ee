//! The words for files: the master secret's input and output, bundle files and the
//! bundle export, where the advice names quorumctl's options.

use quorum_ceremony::bundle_file::BundleUpdateError;
use quorum_ceremony::secret_io::{Origin, SecretIoError};
use quorum_ceremony::CeremonyError;

/// The CLI's message for a file error, when it words it itself.
pub(crate) fn error(e: &CeremonyError) -> Option<String> {
    match e {
        CeremonyError::SecretIo(e) => Some(secret_io(e)),
        CeremonyError::NoCardOfSet { set_id, skipped } => Some(format!(
            "no card of {} is present, so no bundle was written{}",
            set_id
                .as_ref()
                .map_or_else(|| "any set".to_owned(), |id| format!("set {id}")),
            skipped
                .iter()
                .map(|s| format!("\n  - {s}"))
                .collect::<String>()
        )),
        _ => None,
    }
}

/// Why the master secret or an output file could not be read or written, and the option
/// that fixes it.
pub(crate) fn secret_io(e: &SecretIoError) -> String {
    match e {
        SecretIoError::Empty(origin) => format!(
            "the master secret from {} is empty; give a non-empty secret",
            self::origin(origin)
        ),
        SecretIoError::TooLarge { origin, len, max } => format!(
            "the master secret from {} is {}; quorum backs up at most {max} bytes",
            self::origin(origin),
            match len {
                Some(len) => format!("{len} bytes"),
                None => format!("more than {max} bytes"),
            }
        ),
        SecretIoError::StdinIsTerminal => {
            "no master secret given: use --in FILE, --generate BYTES, or pipe it on standard input"
                .to_owned()
        }
        SecretIoError::Exists(path) => format!(
            "refusing to overwrite {}: it already exists (use --force to replace it)",
            path.display()
        ),
        SecretIoError::StdoutIsTerminal => {
            "refusing to print the secret to a terminal: use --out FILE or redirect standard output"
                .to_owned()
        }
        SecretIoError::Read { .. }
        | SecretIoError::ReadStdin(_)
        | SecretIoError::NoDirectory { .. }
        | SecretIoError::Write { .. } => e.to_string(),
    }
}

/// Where a master secret came from, as the command line named it.
fn origin(origin: &Origin) -> String {
    match origin {
        Origin::File(path) => path.display().to_string(),
        Origin::Stdin => "standard input".to_owned(),
        Origin::Generated(len) => format!("--generate {len}"),
    }
}

/// Why a set's new bundle version was not written.
pub(crate) fn bundle_update(e: &BundleUpdateError) -> String {
    match e {
        BundleUpdateError::Write { backup, source } => format!(
            "{}{}",
            secret_io(source),
            backup
                .as_ref()
                .map(|b| format!(" (the previous version is at {})", b.display()))
                .unwrap_or_default()
        ),
        BundleUpdateError::Made(_) | BundleUpdateError::KeepOld { .. } => e.to_string(),
    }
}
