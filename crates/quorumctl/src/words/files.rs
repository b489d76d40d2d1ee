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

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::PathBuf;

    #[test]
    fn secret_file_errors_name_the_options_that_fix_them() {
        let cases = [
            (
                SecretIoError::StdinIsTerminal,
                "no master secret given: use --in FILE, --generate BYTES, or pipe it on standard input",
            ),
            (
                SecretIoError::StdoutIsTerminal,
                "refusing to print the secret to a terminal: use --out FILE or redirect standard output",
            ),
            (
                SecretIoError::Exists(PathBuf::from("out.bin")),
                "refusing to overwrite out.bin: it already exists (use --force to replace it)",
            ),
            (
                SecretIoError::Empty(Origin::Generated(0)),
                "the master secret from --generate 0 is empty; give a non-empty secret",
            ),
            (
                SecretIoError::Empty(Origin::Stdin),
                "the master secret from standard input is empty; give a non-empty secret",
            ),
            (
                SecretIoError::TooLarge {
                    origin: Origin::File("big".into()),
                    len: None,
                    max: 6144,
                },
                "the master secret from big is more than 6144 bytes; quorum backs up at most 6144 bytes",
            ),
        ];
        for (e, want) in cases {
            assert_eq!(secret_io(&e), want);
            assert!(
                !e.to_string().contains("--"),
                "the library names no option: {e}"
            );
        }
        let wrapped = CeremonyError::SecretIo(SecretIoError::StdinIsTerminal);
        assert_eq!(
            error(&wrapped).unwrap(),
            secret_io(&SecretIoError::StdinIsTerminal)
        );
    }

    #[test]
    fn an_export_without_a_card_of_the_set_lists_the_cards_left_out() {
        let e = CeremonyError::NoCardOfSet {
            set_id: Some("ab".repeat(16)),
            skipped: vec!["card in \"R0\": holds no record (state: BLANK)".into()],
        };
        let want = format!(
            "no card of set {} is present, so no bundle was written\n  - card in \"R0\": holds no record (state: BLANK)",
            "ab".repeat(16)
        );
        assert_eq!(error(&e).unwrap(), want);
        assert_eq!(e.to_string(), want);
    }
}
