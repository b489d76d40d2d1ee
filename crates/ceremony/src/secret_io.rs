//! Reading and writing the master secret, the only place where it touches files or pipes.
//!
//! Rules: a secret is read into zeroizing memory allocated once, at its largest size, and
//! never reallocated (a reallocation would leave a copy behind in freed memory); it is
//! written only where the user asked, with mode 0600, never over an existing file unless
//! forced (and then by an atomic rename, so a failure leaves the old file intact), and
//! never to a terminal.

use std::fs::{self, File, OpenOptions};
use std::io::{self, IsTerminal, Read, Write};
use std::os::fd::AsFd;
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};

use rand::RngCore;
use thiserror::Error;
use zeroize::Zeroizing;

/// Largest master secret quorum accepts: the record format's one bound (record-format.md, "Size").
pub use quorum_protocol::record::MAX_MASTER_LEN;

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
    #[error("the master secret from {origin} is {}; quorum backs up at most {max} bytes", size_text(.len, *.max))]
    TooLarge {
        origin: String,
        /// Its size when known (a regular file, a generated secret); `None` for a pipe,
        /// which is refused as soon as it passes `max` bytes, unread beyond.
        len: Option<u64>,
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
    /// The output's directory does not exist, so the file could never be written.
    #[error("cannot write {}: its directory {} does not exist; create it or choose another path", .path.display(), .dir.display())]
    NoDirectory {
        /// The output file.
        path: PathBuf,
        /// Its missing directory.
        dir: PathBuf,
    },
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
            let origin = path.display().to_string();
            let read_err = |source| SecretIoError::Read {
                path: path.clone(),
                source,
            };
            let file = File::open(path).map_err(read_err)?;
            (read_limited(file, &origin, read_err)?, origin)
        }
        MasterSource::Stdin => {
            let stdin = io::stdin();
            if stdin.is_terminal() {
                return Err(SecretIoError::StdinIsTerminal);
            }
            // A duplicate of descriptor 0, read without std's stdin buffer, which would
            // keep a copy of the secret that nothing wipes.
            let origin = "standard input".to_string();
            let file = stdin
                .as_fd()
                .try_clone_to_owned()
                .map(File::from)
                .map_err(SecretIoError::ReadStdin)?;
            (
                read_limited(file, &origin, SecretIoError::ReadStdin)?,
                origin,
            )
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

/// Reads a file, pipe or FIFO holding the master secret: a regular file's size is checked
/// before any byte is read, and any source is refused as soon as it passes the limit.
fn read_limited(
    mut file: File,
    origin: &str,
    io_err: impl Fn(io::Error) -> SecretIoError,
) -> Result<Zeroizing<Vec<u8>>, SecretIoError> {
    let too_large = |len| SecretIoError::TooLarge {
        origin: origin.to_string(),
        len,
        max: MAX_MASTER_LEN,
    };
    let meta = file.metadata().map_err(&io_err)?;
    if meta.is_file() && meta.len() > MAX_MASTER_LEN as u64 {
        return Err(too_large(Some(meta.len())));
    }
    read_bounded(&mut file, MAX_MASTER_LEN)
        .map_err(io_err)?
        .ok_or_else(|| too_large(None))
}

/// Reads all of `source` into one zeroizing buffer of `max + 1` bytes, allocated before the
/// first read and never reallocated, so no copy of a secret is left in freed memory;
/// `Ok(None)` as soon as more than `max` bytes arrive (nothing further is read).
pub(crate) fn read_bounded(
    source: &mut impl Read,
    max: usize,
) -> io::Result<Option<Zeroizing<Vec<u8>>>> {
    let mut buffer = Zeroizing::new(vec![0u8; max + 1]);
    Ok(fill(&mut buffer, source)?.then_some(buffer))
}

/// Reads into the whole of `buffer` (its length is the room there is) and truncates it to
/// what was read, which never moves or grows it; false if `source` filled every byte,
/// that is, gave more than `buffer.len() - 1`.
fn fill(buffer: &mut Vec<u8>, source: &mut impl Read) -> io::Result<bool> {
    let room = buffer.len();
    let mut filled = 0;
    while filled < room {
        match source.read(&mut buffer[filled..]) {
            Ok(0) => break,
            Ok(n) => filled += n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    buffer.truncate(filled);
    Ok(filled < room)
}

/// "N bytes" when the size is known, else "more than MAX bytes".
fn size_text(len: &Option<u64>, max: usize) -> String {
    match len {
        Some(len) => format!("{len} bytes"),
        None => format!("more than {max} bytes"),
    }
}

fn check_len(secret: &[u8], origin: &str) -> Result<(), SecretIoError> {
    if secret.is_empty() {
        return Err(SecretIoError::Empty(origin.to_string()));
    }
    if secret.len() > MAX_MASTER_LEN {
        return Err(SecretIoError::TooLarge {
            origin: origin.to_string(),
            len: Some(secret.len() as u64),
            max: MAX_MASTER_LEN,
        });
    }
    Ok(())
}

/// Fails early, before any card is touched, if `path` exists and may not be replaced, or its directory is missing.
pub fn check_writable(path: &Path, force: bool) -> Result<(), SecretIoError> {
    if !force && fs::symlink_metadata(path).is_ok() {
        return Err(SecretIoError::Exists(path.to_path_buf()));
    }
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d,
        _ => Path::new("."),
    };
    if !dir.is_dir() {
        return Err(SecretIoError::NoDirectory {
            path: path.to_path_buf(),
            dir: dir.to_path_buf(),
        });
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
    fn an_output_in_a_missing_directory_is_refused_before_anything_else() {
        let dir = scratch();
        assert!(check_writable(&dir.join("out.bin"), false).is_ok());
        assert!(check_writable(Path::new("relative.bin"), false).is_ok());
        let missing = dir.join("no-such-dir").join("out.bin");
        let e = check_writable(&missing, true).unwrap_err();
        assert!(
            matches!(&e, SecretIoError::NoDirectory { dir: d, .. } if d.ends_with("no-such-dir")),
            "{e}"
        );
        assert!(e.to_string().contains("does not exist"), "{e}");
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
        // A regular file's size is known before reading: the message gives it.
        let len = Some(MAX_MASTER_LEN as u64 + 1);
        assert!(matches!(
            read_master(&MasterSource::File(big)),
            Err(SecretIoError::TooLarge { len: l, .. }) if l == len
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
    fn an_oversized_stream_is_refused_once_it_passes_the_limit() {
        // An endless source: refused after max + 1 bytes, not read to its end.
        let mut endless = io::repeat(7);
        assert!(read_bounded(&mut endless, MAX_MASTER_LEN)
            .unwrap()
            .is_none());
        let mut one_over = io::repeat(7).take(MAX_MASTER_LEN as u64 + 1);
        assert!(read_bounded(&mut one_over, MAX_MASTER_LEN)
            .unwrap()
            .is_none());
        assert_eq!(one_over.limit(), 0);
        // A FIFO goes the same way, and the error says the size is unknown.
        let dir = scratch();
        let fifo = dir.join("fifo");
        let c = std::ffi::CString::new(fifo.to_str().unwrap()).unwrap();
        // SAFETY: mkfifo reads a NUL-terminated path that lives for the call.
        assert_eq!(unsafe { libc::mkfifo(c.as_ptr(), 0o600) }, 0);
        let writer = {
            let fifo = fifo.clone();
            std::thread::spawn(move || {
                // The reader stops early and closes its end: the writer then gets EPIPE.
                let _ = fs::OpenOptions::new()
                    .write(true)
                    .open(&fifo)
                    .and_then(|mut f| f.write_all(&vec![1u8; 4 * MAX_MASTER_LEN]));
            })
        };
        let err = read_master(&MasterSource::File(fifo)).unwrap_err();
        writer.join().unwrap();
        assert!(
            matches!(err, SecretIoError::TooLarge { len: None, .. }),
            "{err}"
        );
        assert!(err
            .to_string()
            .contains(&format!("more than {MAX_MASTER_LEN} bytes")));
    }

    #[test]
    fn exactly_the_maximum_is_accepted_from_a_stream() {
        let mut exact = io::repeat(7).take(MAX_MASTER_LEN as u64);
        let secret = read_bounded(&mut exact, MAX_MASTER_LEN).unwrap().unwrap();
        assert_eq!(*secret, vec![7u8; MAX_MASTER_LEN]);
        let mut empty = io::empty();
        assert!(read_bounded(&mut empty, MAX_MASTER_LEN)
            .unwrap()
            .unwrap()
            .is_empty());
    }

    /// Gives its bytes a few at a time, and an interruption in between, like a slow pipe.
    struct Trickle(Vec<u8>, usize, bool);

    impl Read for Trickle {
        fn read(&mut self, out: &mut [u8]) -> io::Result<usize> {
            self.2 = !self.2;
            if self.2 {
                return Err(io::ErrorKind::Interrupted.into());
            }
            let n = out.len().min(7).min(self.0.len() - self.1);
            out[..n].copy_from_slice(&self.0[self.1..self.1 + n]);
            self.1 += n;
            Ok(n)
        }
    }

    #[test]
    fn the_buffer_is_never_moved_or_grown() {
        for len in [
            0,
            1,
            100,
            MAX_MASTER_LEN,
            MAX_MASTER_LEN + 1,
            3 * MAX_MASTER_LEN,
        ] {
            let mut buffer = Zeroizing::new(vec![0u8; MAX_MASTER_LEN + 1]);
            let (ptr, capacity) = (buffer.as_ptr(), buffer.capacity());
            let mut source = Trickle(vec![9u8; len], 0, false);
            let fits = fill(&mut buffer, &mut source).unwrap();
            assert_eq!(fits, len <= MAX_MASTER_LEN, "{len}");
            assert_eq!(buffer.len(), len.min(MAX_MASTER_LEN + 1));
            assert_eq!(
                (buffer.as_ptr(), buffer.capacity()),
                (ptr, capacity),
                "{len}"
            );
        }
        let mut source = io::repeat(1).take(10);
        let secret = read_bounded(&mut source, MAX_MASTER_LEN).unwrap().unwrap();
        assert!(secret.capacity() > MAX_MASTER_LEN);
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
