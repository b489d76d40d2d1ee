//! Reading and writing the master secret, the only place where it touches files or pipes.
//!
//! Rules: a secret is read into zeroizing memory; it is written only where the user asked,
//! with mode 0600, never over an existing file unless forced (and then by an atomic
//! rename, so a failure leaves the old file intact), and never to a terminal.

use std::fs::{self, File, OpenOptions};
use std::io::{self, IsTerminal, Read, Write};
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};

use rand::RngCore;
use thiserror::Error;
use zeroize::Zeroizing;

/// Largest master secret quorum accepts: it must fit, wrapped, in one card record.
pub const MAX_MASTER_LEN: usize = 6144;

/// Where the master secret to back up comes from.
#[derive(Debug, Clone)]
pub enum MasterSource {
    /// A file the user named.
    File(PathBuf),
    /// Standard input, which must not be a terminal.
    Stdin,
    /// Fresh random bytes of this length.
    Generate(usize),
}

/// Why a secret could not be read or written; messages name the file and the fix.
#[derive(Debug, Error)]
pub enum SecretIoError {
    /// The input file could not be read.
    #[error("cannot read the master secret from {path}: {source}")]
    Read { path: PathBuf, source: io::Error },
    /// Standard input could not be read.
    #[error("cannot read the master secret from standard input: {0}")]
    ReadStdin(io::Error),
    /// Nothing was supplied.
    #[error("the master secret from {0} is empty; give a non-empty secret")]
    Empty(String),
    /// The input exceeds what one card record can hold.
    #[error("the master secret from {origin} is {len} bytes; quorum backs up at most {max} bytes")]
    TooLarge {
        origin: String,
        len: usize,
        max: usize,
    },
    /// Standard input is a terminal, so there is no piped secret to read.
    #[error(
        "no master secret given: use --in FILE, --generate BYTES, or pipe it on standard input"
    )]
    StdinIsTerminal,
    /// The requested output would overwrite an existing file.
    #[error("refusing to overwrite {0}: it already exists (use --force to replace it)")]
    Exists(PathBuf),
    /// The output file could not be written.
    #[error("cannot write {path}: {source}")]
    Write { path: PathBuf, source: io::Error },
    /// Standard output is a terminal, where a secret would be displayed.
    #[error(
        "refusing to print the secret to a terminal: use --out FILE or redirect standard output"
    )]
    StdoutIsTerminal,
}

/// Reads (or generates) the master secret into zeroizing memory and checks its size.
pub fn read_master(source: &MasterSource) -> Result<Zeroizing<Vec<u8>>, SecretIoError> {
    let (secret, origin) = match source {
        MasterSource::File(path) => {
            let mut buf = Zeroizing::new(Vec::new());
            File::open(path)
                .and_then(|mut f| f.read_to_end(&mut buf))
                .map_err(|source| SecretIoError::Read {
                    path: path.clone(),
                    source,
                })?;
            (buf, path.display().to_string())
        }
        MasterSource::Stdin => {
            let stdin = io::stdin();
            if stdin.is_terminal() {
                return Err(SecretIoError::StdinIsTerminal);
            }
            let mut buf = Zeroizing::new(Vec::new());
            stdin
                .lock()
                .read_to_end(&mut buf)
                .map_err(SecretIoError::ReadStdin)?;
            (buf, "standard input".to_string())
        }
        MasterSource::Generate(len) => {
            let mut buf = Zeroizing::new(vec![0u8; *len]);
            rand::rngs::OsRng.fill_bytes(&mut buf);
            (buf, format!("--generate {len}"))
        }
    };
    check_len(&secret, &origin)?;
    Ok(secret)
}

fn check_len(secret: &[u8], origin: &str) -> Result<(), SecretIoError> {
    if secret.is_empty() {
        return Err(SecretIoError::Empty(origin.to_string()));
    }
    if secret.len() > MAX_MASTER_LEN {
        return Err(SecretIoError::TooLarge {
            origin: origin.to_string(),
            len: secret.len(),
            max: MAX_MASTER_LEN,
        });
    }
    Ok(())
}

/// Fails early, before any card is touched, if `path` exists and may not be replaced.
pub fn check_writable(path: &Path, force: bool) -> Result<(), SecretIoError> {
    if !force && fs::symlink_metadata(path).is_ok() {
        return Err(SecretIoError::Exists(path.to_path_buf()));
    }
    Ok(())
}

/// Writes `data` to `path` with mode 0600: a new file, or with `force` an atomic replacement.
pub fn write_private_file(path: &Path, data: &[u8], force: bool) -> Result<(), SecretIoError> {
    let werr = |source| SecretIoError::Write {
        path: path.to_path_buf(),
        source,
    };
    if !force {
        let mut f = OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .open(path)
            .map_err(|e| {
                if e.kind() == io::ErrorKind::AlreadyExists {
                    SecretIoError::Exists(path.to_path_buf())
                } else {
                    werr(e)
                }
            })?;
        return write_all_synced(&mut f, data).map_err(|e| {
            let _ = fs::remove_file(path);
            werr(e)
        });
    }
    let tmp = temp_sibling(path);
    let result = OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(&tmp)
        .and_then(|mut f| write_all_synced(&mut f, data))
        .and_then(|()| fs::rename(&tmp, path));
    if let Err(e) = result {
        let _ = fs::remove_file(&tmp);
        return Err(werr(e));
    }
    Ok(())
}

/// Writes a secret to standard output, unless that is a terminal.
pub fn write_stdout(data: &[u8]) -> Result<(), SecretIoError> {
    let stdout = io::stdout();
    if stdout.is_terminal() {
        return Err(SecretIoError::StdoutIsTerminal);
    }
    let mut lock = stdout.lock();
    lock.write_all(data)
        .and_then(|()| lock.flush())
        .map_err(|source| SecretIoError::Write {
            path: PathBuf::from("<stdout>"),
            source,
        })
}

fn write_all_synced(f: &mut File, data: &[u8]) -> io::Result<()> {
    f.write_all(data)?;
    f.sync_all()
}

fn temp_sibling(path: &Path) -> PathBuf {
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let tag = rand::rngs::OsRng.next_u64();
    path.with_file_name(format!(".{name}.{tag:016x}.tmp"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    fn scratch() -> PathBuf {
        let dir =
            std::env::temp_dir().join(format!("quorum-secret-io-{}", rand::rngs::OsRng.next_u64()));
        fs::create_dir_all(&dir).unwrap();
        dir
    }

    #[test]
    fn new_file_has_mode_0600_and_the_bytes() {
        let dir = scratch();
        let p = dir.join("out.bin");
        write_private_file(&p, b"abc", false).unwrap();
        assert_eq!(fs::read(&p).unwrap(), b"abc");
        assert_eq!(
            fs::metadata(&p).unwrap().permissions().mode() & 0o777,
            0o600
        );
    }

    #[test]
    fn existing_file_is_kept_without_force() {
        let dir = scratch();
        let p = dir.join("out.bin");
        fs::write(&p, b"old").unwrap();
        assert!(matches!(
            check_writable(&p, false),
            Err(SecretIoError::Exists(_))
        ));
        assert!(matches!(
            write_private_file(&p, b"new", false),
            Err(SecretIoError::Exists(_))
        ));
        assert_eq!(fs::read(&p).unwrap(), b"old");
    }

    #[test]
    fn force_replaces_atomically_and_leaves_no_temp_file() {
        let dir = scratch();
        let p = dir.join("out.bin");
        fs::write(&p, b"old").unwrap();
        check_writable(&p, true).unwrap();
        write_private_file(&p, b"new", true).unwrap();
        assert_eq!(fs::read(&p).unwrap(), b"new");
        assert_eq!(
            fs::metadata(&p).unwrap().permissions().mode() & 0o777,
            0o600
        );
        assert_eq!(fs::read_dir(&dir).unwrap().count(), 1);
    }

    #[test]
    fn input_size_limits_are_enforced() {
        let dir = scratch();
        let empty = dir.join("empty");
        fs::write(&empty, b"").unwrap();
        assert!(matches!(
            read_master(&MasterSource::File(empty)),
            Err(SecretIoError::Empty(_))
        ));
        let big = dir.join("big");
        fs::write(&big, vec![7u8; MAX_MASTER_LEN + 1]).unwrap();
        assert!(matches!(
            read_master(&MasterSource::File(big)),
            Err(SecretIoError::TooLarge { .. })
        ));
        let ok = dir.join("ok");
        fs::write(&ok, vec![7u8; MAX_MASTER_LEN]).unwrap();
        assert_eq!(
            read_master(&MasterSource::File(ok)).unwrap().len(),
            MAX_MASTER_LEN
        );
        let missing = dir.join("missing");
        assert!(matches!(
            read_master(&MasterSource::File(missing)),
            Err(SecretIoError::Read { .. })
        ));
    }

    #[test]
    fn generate_gives_distinct_random_secrets_of_the_asked_size() {
        let a = read_master(&MasterSource::Generate(32)).unwrap();
        let b = read_master(&MasterSource::Generate(32)).unwrap();
        assert_eq!(a.len(), 32);
        assert_ne!(*a, *b);
        assert!(matches!(
            read_master(&MasterSource::Generate(0)),
            Err(SecretIoError::Empty(_))
        ));
    }
}
