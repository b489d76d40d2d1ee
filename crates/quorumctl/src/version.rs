//! What `quorumctl --version` tells: the release, the commit it was built from and the
//! formats it speaks, so that ceremony minutes and bug reports can name the exact tool.

use quorum_ceremony::log;
use quorum_protocol::apdu::PROTOCOL_MAJOR;
use quorum_protocol::bundle::BUNDLE_FORMAT;
use quorum_protocol::record::MAGIC;

/// The git commit this binary was built from (build.rs), or "unknown" without git.
pub(crate) const COMMIT: &str = env!("QUORUM_GIT_COMMIT");

/// The text after "quorumctl " in `quorumctl --version`.
pub(crate) fn long_version() -> String {
    format!(
        "{release} (commit {COMMIT})\n\
         applet protocol: {PROTOCOL_MAJOR}.x (the SELECT answer; `quorumctl status` shows a card's)\n\
         record format:   {record} (the public record stored on each card)\n\
         bundle format:   {BUNDLE_FORMAT}\n\
         log format:      {log_format}",
        release = env!("CARGO_PKG_VERSION"),
        record = String::from_utf8_lossy(&MAGIC),
        log_format = log::GENESIS.trim_end_matches(" genesis"),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_long_version_names_release_commit_and_every_format() {
        let text = long_version();
        let first = text.lines().next().unwrap();
        assert_eq!(
            first,
            format!("{} (commit {COMMIT})", env!("CARGO_PKG_VERSION"))
        );
        assert!(!COMMIT.is_empty());
        assert!(text.contains("applet protocol: 1.x"), "{text}");
        assert!(text.contains("record format:   QRM2"), "{text}");
        assert!(text.contains("bundle format:   quorum-bundle/3"), "{text}");
        assert!(
            text.ends_with(&format!("log format:      quorum-log/{}", log::FORMAT)),
            "{text}"
        );
    }

    #[test]
    fn dash_dash_version_prints_the_long_version_and_dash_v_the_release() {
        let long = crate::cli::command()
            .try_get_matches_from(["quorumctl", "--version"])
            .unwrap_err();
        assert_eq!(long.kind(), clap::error::ErrorKind::DisplayVersion);
        assert_eq!(long.to_string(), format!("quorumctl {}\n", long_version()));
        let short = crate::cli::command()
            .try_get_matches_from(["quorumctl", "-V"])
            .unwrap_err();
        assert_eq!(
            short.to_string(),
            format!("quorumctl {}\n", env!("CARGO_PKG_VERSION"))
        );
    }
}
