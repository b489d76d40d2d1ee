//! Options turned into ceremony inputs, and the refusals that come before any card is
//! touched: PIN sources, reader modes, names, labels, thresholds, bundles, anchors.

use crate::failure::Failure;
use std::path::PathBuf;
use std::time::Duration;

use crate::prompt::Keyboard;
use quorum_card::readers::Readers;
use quorum_ceremony::bundle_file::BundleFile;
use quorum_ceremony::pins::{pin_table, PinProvider};
use quorum_ceremony::presence::CountOf;
use quorum_ceremony::recover::Anchor;
use quorum_ceremony::{resolve_reader, CardsFrom, CeremonyError, PinPolicy};
use quorum_pcsc::PcscContext;
use quorum_protocol::bundle::Bundle;
use quorum_protocol::crypto::anchor::parse_digest_prefix;
use quorum_protocol::record::{self, PublicRecord};

use crate::cli::{PinArgs, RecoverArgs, SwapArgs};

/// The PINs typed or stored on this computer: a PIN file or descriptor when given, else
/// the keyboard.
pub(crate) fn pin_source(args: &PinArgs) -> Result<Box<dyn PinProvider>, Failure> {
    let fd = match args.pin_fd {
        Some(fd) if fd < 0 => {
            return Err(Failure::Usage(format!(
                "--pin-fd {fd}: a file descriptor is a number of 0 or more"
            )))
        }
        Some(fd) => Some(fd as u32),
        None => None,
    };
    if let Some(path) = &args.pin_file {
        warn_if_others_can_read("--pin-file", path);
    }
    Ok(match pin_table(args.pin_file.as_deref(), fd)? {
        Some(table) => Box::new(table),
        None => Box::new(Keyboard),
    })
}

/// Says once, on standard error, when a file of PINs can be read by other users of this
/// computer: the ceremony goes on (the custodians chose the file), but they should know.
pub(crate) fn warn_if_others_can_read(option: &str, path: &std::path::Path) {
    if let Some(warning) = readable_by_others(option, path) {
        eprintln!("{warning}");
    }
}

/// The warning for a PIN file whose mode lets its group or others read it, if it does.
fn readable_by_others(option: &str, path: &std::path::Path) -> Option<String> {
    use std::os::unix::fs::PermissionsExt;
    let mode = std::fs::metadata(path).ok()?.permissions().mode();
    (mode & 0o044 != 0).then(|| {
        format!(
            "warning: {option} {} can be read by other users of this computer (mode {:04o}): make it private (chmod 600) and delete it when the ceremony is over; the ceremony continues.",
            path.display(),
            mode & 0o7777
        )
    })
}

pub(crate) fn pin_policy<'a>(args: &PinArgs, source: &'a dyn PinProvider) -> PinPolicy<'a> {
    PinPolicy {
        source,
        no_pinpad: args.no_pinpad,
        pinpad_timeout: args.pinpad_timeout,
    }
}

pub(crate) fn parse_names(names: &[String]) -> Result<Vec<(String, String)>, Failure> {
    names
        .iter()
        .map(|n| match n.split_once('=') {
            Some((fp, name)) if !fp.trim().is_empty() => Ok((fp.trim().to_owned(), name.to_owned())),
            _ => Err(Failure::Usage(format!("--name {n:?}: write it as FINGERPRINT=NAME (fingerprints are shown by init and status)"))),
        })
        .collect()
}

/// One custodian's `--name` where one card is meant (add-card): `FINGERPRINT=NAME` as
/// enroll and reshare take it, or `NAME` alone; the fingerprint, when given, picks the card.
pub(crate) fn parse_one_name(given: &str) -> (Option<String>, String) {
    match given.split_once('=') {
        Some((fp, name)) if looks_like_fingerprint(fp.trim()) => {
            (Some(fp.trim().to_owned()), name.to_owned())
        }
        _ => (None, given.to_owned()),
    }
}

/// Four dash-separated groups of four hex digits, as quorumctl shows a card fingerprint.
fn looks_like_fingerprint(s: &str) -> bool {
    let groups: Vec<&str> = s.split('-').collect();
    groups.len() == 4
        && groups
            .iter()
            .all(|g| g.len() == 4 && g.chars().all(|c| c.is_ascii_hexdigit()))
}

/// A custodian name as the record takes it, refused before any card is touched.
pub(crate) fn check_custodian_name(option: &str, name: &str) -> Result<(), Failure> {
    record::check_name(name, 0).map_err(|_| {
        Failure::Usage(format!(
            "{option}: a custodian name is at most {} bytes of printable UTF-8 (no control or format characters); nothing was done",
            record::MAX_NAME_LEN
        ))
    })
}

/// The set options every card would refuse, checked before any card is asked for a PIN:
/// the label and names against the record's text rules, the threshold against --shares.
pub(crate) fn check_set_options(
    label: &str,
    names: &[(String, String)],
    threshold: u8,
    shares: Option<u8>,
    allow_single_card: bool,
) -> Result<(), Failure> {
    record::check_label(label)
        .map_err(|e| Failure::Usage(format!("--label: {e}; nothing was done")))?;
    for (fp, name) in names {
        check_custodian_name(&format!("--name {fp}={name:?}"), name)?;
    }
    quorum_ceremony::enroll::check_threshold(threshold, shares)?;
    if threshold == 1 {
        if !allow_single_card {
            return Err(Failure::Usage(
                "--threshold 1 means any one card, with its PIN, recovers the master alone, with no quorum to protect it; if that is what you want, add --allow-single-card; nothing was done".to_owned(),
            ));
        }
        eprintln!("Warning: threshold 1: each card of this set, with its PIN, recovers the master secret on its own.");
    }
    Ok(())
}

pub(crate) fn default_bundle_path(label: &str) -> PathBuf {
    let safe: String = label
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' || c == '_' {
                c
            } else {
                '_'
            }
        })
        .collect();
    PathBuf::from(format!("{safe}.quorum.json"))
}

/// With cards coming one after another, the number to expect must be given.
pub(crate) fn require_count(
    cards: &SwapArgs,
    shares: Option<u8>,
    what: CountOf,
) -> Result<(), Failure> {
    if (cards.reader.is_some() || cards.any_reader) && shares.is_none() {
        return Err(CeremonyError::CountNeeded(what).into());
    }
    Ok(())
}

pub(crate) fn cards_from(ctx: &PcscContext, args: &SwapArgs) -> Result<CardsFrom, Failure> {
    // `--timeout 0`: the people at the table take the time they need.
    let timeout = (args.timeout > 0).then(|| Duration::from_secs(args.timeout));
    Ok(match args.reader.as_deref() {
        None if args.any_reader => CardsFrom::AnyReader { timeout },
        None => CardsFrom::EveryReader { put_back: timeout },
        Some(given) => CardsFrom::OneReader {
            reader: resolve_reader(&ctx.reader_names()?, given)?,
            timeout,
        },
    })
}

/// Reads the bundle a ceremony starts from; a bundle problem is the user's to fix.
pub(crate) fn read_bundle(path: &std::path::Path) -> Result<Bundle, Failure> {
    Bundle::read(path).map_err(|source| {
        Failure::from(CeremonyError::Bundle {
            path: path.to_path_buf(),
            source,
        })
    })
}

/// A bundle with its records decoded and its newest record (parsing checked that they are
/// versions of one set, so the highest version is the newest).
pub(crate) fn read_bundle_records(
    path: &std::path::Path,
) -> Result<(Bundle, Vec<PublicRecord>, PublicRecord), Failure> {
    let (bundle, records) = Bundle::read_decoded(path).map_err(|source| CeremonyError::Bundle {
        path: path.to_path_buf(),
        source,
    })?;
    let newest = records
        .iter()
        .max_by_key(|r| r.set_version)
        .expect("a parsed bundle holds at least one record")
        .clone();
    Ok((bundle, records, newest))
}

/// The set `recover` is bound to, from --bundle, --expect or --set; checked before any card is touched.
pub(crate) fn recover_anchor(args: &RecoverArgs) -> Result<Anchor, Failure> {
    let expect = args
        .expect
        .as_deref()
        .map(|e| parse_digest_prefix(e).map_err(|err| Failure::Usage(format!("--expect: {err}"))))
        .transpose()?;
    if let Some(path) = &args.bundle {
        let (_, records, newest) = read_bundle_records(path)?;
        let digest = newest.set_digest();
        if let Some(prefix) = &expect {
            if !digest.starts_with(prefix) {
                return Err(Failure::Usage(format!(
                    "--expect {prefix} is not the set digest of the bundle {} ({digest}): check which set you mean; no card was touched",
                    path.display()
                )));
            }
        }
        return Ok(Anchor::Bundle {
            digest,
            newest,
            records,
        });
    }
    Ok(match (expect, &args.set) {
        (Some(prefix), _) => Anchor::Digest(prefix),
        (None, Some(name)) => Anchor::Named(name.clone()),
        (None, None) => Anchor::None,
    })
}

pub(crate) fn parse_set_id(s: &str) -> Result<[u8; 16], Failure> {
    hex::decode(s)
        .ok()
        .and_then(|b| <[u8; 16]>::try_from(b).ok())
        .ok_or_else(|| {
            Failure::Usage(format!(
                "--set {s:?}: a set id is 32 hex digits, as `quorumctl status` shows"
            ))
        })
}

#[cfg(test)]
mod tests {
    use super::readable_by_others;
    use super::{parse_names, parse_one_name};

    #[test]
    fn one_name_is_fingerprint_equals_name_or_the_name_alone() {
        assert_eq!(
            parse_one_name("51d4-77CB-be13-c565=Alice"),
            (Some("51d4-77CB-be13-c565".to_owned()), "Alice".to_owned())
        );
        assert_eq!(parse_one_name("Alice"), (None, "Alice".to_owned()));
        // a name with "=" in it stays whole unless a fingerprint comes first
        assert_eq!(parse_one_name("x=y"), (None, "x=y".to_owned()));
        assert_eq!(
            parse_names(&["51d4-77cb-be13-c565=Alice".to_owned()]).unwrap(),
            [("51d4-77cb-be13-c565".to_owned(), "Alice".to_owned())]
        );
    }
    use std::os::unix::fs::PermissionsExt;

    #[test]
    fn a_pin_file_others_can_read_draws_a_warning_and_a_private_one_none() {
        let dir = std::env::temp_dir().join(format!("quorumctl-pin-mode-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let file = dir.join("pins");
        std::fs::write(&file, "123456\n").unwrap();
        std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o644)).unwrap();
        let warning = readable_by_others("--pin-file", &file).expect("a warning");
        assert!(
            warning.contains("can be read by other users of this computer (mode 0644)"),
            "{warning}"
        );
        std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o600)).unwrap();
        assert_eq!(readable_by_others("--pin-file", &file), None);
        std::fs::remove_dir_all(dir).unwrap();
    }
}
