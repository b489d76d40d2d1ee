//! Records the git commit quorumctl is built from, so `quorumctl --version` (and the
//! minutes that quote it) name the exact source: `QUORUM_GIT_COMMIT` when the packager
//! sets it (a build from a tarball has no git), else `git rev-parse --short HEAD`, else
//! "unknown". The commit's date (`QUORUM_COMMIT_DATE`, YYYY-MM-DD) dates the man pages,
//! so the same source gives the same pages.

use std::process::Command;

fn main() {
    println!("cargo:rerun-if-env-changed=QUORUM_GIT_COMMIT");
    let commit = std::env::var("QUORUM_GIT_COMMIT")
        .ok()
        .filter(|c| !c.trim().is_empty())
        .or_else(|| {
            // Build again when HEAD moves: HEAD itself, the branch it names, packed refs.
            for path in ["HEAD", "packed-refs"] {
                if let Some(p) = git(&["rev-parse", "--git-path", path]) {
                    println!("cargo:rerun-if-changed={p}");
                }
            }
            if let Some(branch) = git(&["symbolic-ref", "-q", "HEAD"]) {
                if let Some(p) = git(&["rev-parse", "--git-path", &branch]) {
                    println!("cargo:rerun-if-changed={p}");
                }
            }
            git(&["rev-parse", "--short", "HEAD"])
        })
        .unwrap_or_else(|| "unknown".to_owned());
    println!("cargo:rustc-env=QUORUM_GIT_COMMIT={}", commit.trim());
    println!("cargo:rerun-if-env-changed=QUORUM_COMMIT_DATE");
    let date = std::env::var("QUORUM_COMMIT_DATE")
        .ok()
        .or_else(|| git(&["log", "-1", "--format=%cs", "HEAD"]))
        .unwrap_or_default();
    println!("cargo:rustc-env=QUORUM_COMMIT_DATE={}", date.trim());
}

/// One line of git's answer, or `None` where git or the repository is missing.
fn git(args: &[&str]) -> Option<String> {
    let out = Command::new("git").args(args).output().ok()?;
    let text = String::from_utf8(out.stdout).ok()?;
    (out.status.success() && !text.trim().is_empty()).then(|| text.trim().to_owned())
}
