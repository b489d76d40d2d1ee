//! `quorumctl generate`: man pages and shell completions made from the clap grammar, so
//! they never drift from the options the binary accepts. A packager runs the binary it
//! just built (scripts/install, scripts/deb), the way ripgrep and fd ship theirs.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap_complete::Shell;

use crate::cli::{GenerateCommand, GenerateCompletionsArgs, GenerateManArgs};
use crate::exit::ExitStatus;

/// Runs `generate man` or `generate completions`; says in one line what it wrote, or the error.
pub(crate) fn run(what: &GenerateCommand) -> ExitCode {
    let written =
        match what {
            GenerateCommand::Man(args) => man(args)
                .map(|pages| (!pages.is_empty()).then(|| wrote_pages(pages.len(), &args.dir))),
            GenerateCommand::Completions(args) => completions(args)
                .map(|files| files.first().map(|f| format!("wrote {}", f.display()))),
        };
    match written {
        Ok(said) => {
            if let Some(line) = said {
                eprintln!("{line}");
            }
            ExitCode::SUCCESS
        }
        Err((path, e)) => {
            eprintln!("error: {}", could_not_write(&path, &e));
            ExitCode::from(ExitStatus::File.code())
        }
    }
}

/// What `generate man` says when it is done.
fn wrote_pages(count: usize, dir: &Path) -> String {
    format!(
        "wrote {count} man pages to {} (quorumctl.1 and one per command)",
        dir.display()
    )
}

/// What a failed write says: which file, why, what is left, what to do.
fn could_not_write(path: &Path, e: &std::io::Error) -> String {
    format!(
        "could not write {}: {e}. Files written before it stay; make the folder writable or name another, and run the command again",
        path.display()
    )
}

/// Writes quorumctl.1 and one page per visible command (quorumctl-log-verify.1 for
/// `log verify`). The pages carry the release only, not the commit: the same source
/// gives the same pages.
fn man(args: &GenerateManArgs) -> Result<Vec<PathBuf>, (PathBuf, std::io::Error)> {
    std::fs::create_dir_all(&args.dir).map_err(|e| (args.dir.clone(), e))?;
    use clap::CommandFactory;
    let mut root = crate::cli::Cli::command();
    // Building gives each subcommand its page name ("quorumctl-enroll") and the global options.
    root.build();
    let mut written = Vec::new();
    page(root, &args.dir, &mut written)?;
    Ok(written)
}

/// One command's page, then its subcommands' pages.
fn page(
    cmd: clap::Command,
    dir: &Path,
    written: &mut Vec<PathBuf>,
) -> Result<(), (PathBuf, std::io::Error)> {
    for sub in cmd.get_subcommands() {
        if !sub.is_hide_set() {
            page(sub.clone(), dir, written)?;
        }
    }
    let man = clap_mangen::Man::new(cmd)
        .manual("quorum")
        .date(env!("QUORUM_COMMIT_DATE"))
        .source(format!("quorumctl {}", env!("CARGO_PKG_VERSION")));
    let path = dir.join(man.get_filename());
    man.generate_to(dir).map_err(|e| (path.clone(), e))?;
    written.push(path);
    Ok(())
}

/// The file name each shell's completion folder expects for quorumctl.
pub(crate) fn completion_file(shell: Shell) -> String {
    use clap_complete::Generator;
    match shell {
        // bash-completion loads completions/NAME when NAME is first completed.
        Shell::Bash => "quorumctl".to_owned(),
        other => other.file_name("quorumctl"),
    }
}

/// Writes one shell's completions to standard output or into `--dir`.
fn completions(args: &GenerateCompletionsArgs) -> Result<Vec<PathBuf>, (PathBuf, std::io::Error)> {
    let mut cmd = crate::cli::command();
    let mut text = Vec::new();
    clap_complete::generate(args.shell, &mut cmd, "quorumctl", &mut text);
    let Some(dir) = &args.dir else {
        use std::io::Write;
        let mut out = std::io::stdout().lock();
        out.write_all(&text)
            .and_then(|()| out.flush())
            .map_err(|e| (PathBuf::from("standard output"), e))?;
        return Ok(Vec::new());
    };
    std::fs::create_dir_all(dir).map_err(|e| (dir.clone(), e))?;
    let path = dir.join(completion_file(args.shell));
    std::fs::write(&path, text).map_err(|e| (path.clone(), e))?;
    Ok(vec![path])
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scratch(name: &str) -> PathBuf {
        let dir =
            std::env::temp_dir().join(format!("quorumctl-generate-{}-{name}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        dir
    }

    #[test]
    fn man_writes_one_page_per_visible_command_and_none_for_generate() {
        let dir = scratch("man");
        let written = man(&GenerateManArgs { dir: dir.clone() }).unwrap();
        let mut names: Vec<String> = written
            .iter()
            .map(|p| p.file_name().unwrap().to_string_lossy().into_owned())
            .collect();
        names.sort();
        for expected in [
            "quorumctl.1",
            "quorumctl-enroll.1",
            "quorumctl-log.1",
            "quorumctl-log-verify.1",
            "quorumctl-reset-card.1",
        ] {
            assert!(
                names.iter().any(|n| n == expected),
                "{expected} missing from {names:?}"
            );
        }
        assert!(!names.iter().any(|n| n.contains("generate")), "{names:?}");
        let enroll = std::fs::read_to_string(dir.join("quorumctl-enroll.1")).unwrap();
        assert!(enroll.starts_with(".ie \\n(.g .ds Aq"), "{enroll}");
        assert!(enroll.contains(".TH quorumctl-enroll 1"), "{enroll}");
        // The global options are on every command's page.
        assert!(enroll.contains("\\-\\-trace"), "{enroll}");
        assert!(
            enroll.contains(&format!("\"quorumctl {}\"", env!("CARGO_PKG_VERSION"))),
            "{enroll}"
        );
        std::fs::remove_dir_all(dir).unwrap();
    }

    #[test]
    fn completions_go_where_each_shell_looks_for_them() {
        assert_eq!(completion_file(Shell::Bash), "quorumctl");
        assert_eq!(completion_file(Shell::Zsh), "_quorumctl");
        assert_eq!(completion_file(Shell::Fish), "quorumctl.fish");
        let dir = scratch("completions");
        let written = completions(&GenerateCompletionsArgs {
            shell: Shell::Bash,
            dir: Some(dir.clone()),
        })
        .unwrap();
        assert_eq!(written, vec![dir.join("quorumctl")]);
        let bash = std::fs::read_to_string(&written[0]).unwrap();
        assert!(
            bash.contains("reset-card") && bash.contains("--pin-file"),
            "{bash}"
        );
        std::fs::remove_dir_all(dir).unwrap();
    }

    #[test]
    fn generate_man_says_how_many_pages_and_where() {
        assert_eq!(
            wrote_pages(16, Path::new("/usr/share/man/man1")),
            "wrote 16 man pages to /usr/share/man/man1 (quorumctl.1 and one per command)"
        );
    }

    #[test]
    fn a_failed_write_names_the_file_and_what_to_do() {
        let e = std::io::Error::from(std::io::ErrorKind::PermissionDenied);
        let text = could_not_write(Path::new("/usr/share/man/man1/quorumctl.1"), &e);
        assert!(
            text.starts_with("could not write /usr/share/man/man1/quorumctl.1: permission denied."),
            "{text}"
        );
        assert!(text.contains("Files written before it stay"), "{text}");
    }
}
