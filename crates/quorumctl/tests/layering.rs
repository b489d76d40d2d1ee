//! The workspace's dependency arrows are its architecture: this test reads every crate's
//! manifest and fails when an arrow points the wrong way (a ceremony reaching for PC/SC,
//! a terminal library below the CLI, a protocol crate doing I/O through another crate, PKCS#11
//! outside quorum-hsm).

use std::collections::BTreeSet;
use std::path::Path;

/// The names under `[dependencies]` (not dev- or build-dependencies) of one manifest.
fn dependencies(manifest: &str) -> BTreeSet<String> {
    let mut names = BTreeSet::new();
    let mut in_dependencies = false;
    for line in manifest.lines().map(str::trim) {
        if line.starts_with('[') {
            in_dependencies = line == "[dependencies]";
            continue;
        }
        if !in_dependencies || line.is_empty() || line.starts_with('#') {
            continue;
        }
        let name = line
            .split(['=', '.', ' '])
            .next()
            .expect("a dependency line starts with its name");
        names.insert(name.to_owned());
    }
    names
}

fn crate_dependencies(dir: &str) -> BTreeSet<String> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("..")
        .join(dir)
        .join("Cargo.toml");
    let text = std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()));
    dependencies(&text)
}

fn quorum_crates(deps: &BTreeSet<String>) -> Vec<&str> {
    deps.iter()
        .map(String::as_str)
        .filter(|d| d.starts_with("quorum"))
        .collect()
}

#[test]
fn crates_depend_only_downwards() {
    let expected: [(&str, &[&str]); 6] = [
        ("protocol", &[]),
        // The PKCS#11 end takes and gives bytes: it needs none of the record, sealing or
        // card types, so it stands alone and can be reviewed (and audited) by itself.
        ("hsm", &[]),
        ("card", &["quorum-protocol"]),
        ("pcsc", &["quorum-card", "quorum-protocol"]),
        ("ceremony", &["quorum-card", "quorum-protocol"]),
        (
            "quorumctl",
            &[
                "quorum-card",
                "quorum-ceremony",
                "quorum-hsm",
                "quorum-pcsc",
                "quorum-protocol",
            ],
        ),
    ];
    for (dir, allowed) in expected {
        let deps = crate_dependencies(dir);
        assert_eq!(quorum_crates(&deps), allowed, "crates/{dir}");
    }
}

#[test]
fn pcsc_lives_in_the_backend_and_the_terminal_in_the_cli() {
    for dir in ["protocol", "card", "pcsc", "ceremony", "quorumctl", "hsm"] {
        let deps = crate_dependencies(dir);
        assert_eq!(deps.contains("pcsc"), dir == "pcsc", "pcsc in crates/{dir}");
        // Only quorum-hsm loads a PKCS#11 module.
        assert_eq!(
            deps.contains("cryptoki"),
            dir == "hsm",
            "cryptoki in crates/{dir}"
        );
        // The terminal prompt is quorumctl's own (prompt.rs), no longer rpassword's.
        assert!(!deps.contains("rpassword"), "rpassword in crates/{dir}");
        assert_eq!(
            deps.contains("clap"),
            dir == "quorumctl",
            "clap in crates/{dir}"
        );
        if dir == "protocol" {
            assert!(!deps.contains("libc"), "libc (I/O) in crates/protocol");
        }
    }
}

#[test]
fn the_manifest_reader_sees_what_it_should() {
    let manifest = "[package]\nname = \"x\"\n[dependencies]\n# a comment\npcsc = \"2\"\nquorum-card.workspace = true\nzeroize = { version = \"1\" }\n[dev-dependencies]\nclap = \"4\"\n";
    let deps = dependencies(manifest);
    assert_eq!(
        deps.into_iter().collect::<Vec<_>>(),
        ["pcsc", "quorum-card", "zeroize"]
    );
}
