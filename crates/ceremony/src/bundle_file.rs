//! Bundle files: reading one without trusting its size, writing one without replacing
//! another. The format itself is `quorum_protocol::bundle`.

use std::fs::File;
use std::io::{self, Read};
use std::path::{Path, PathBuf};

use quorum_protocol::bundle::{Bundle, BundleError, MAX_BUNDLE_BYTES};
use quorum_protocol::record::PublicRecord;

use crate::secret_io::{check_writable, write_private_file, SecretIoError};

/// A [`Bundle`] as a file on disk.
pub trait BundleFile: Sized {
    /// Reads and parses a bundle file (see [`Bundle::parse`]), refusing files no bundle could be.
    fn read(path: &Path) -> Result<Self, BundleError>;

    /// [`BundleFile::read`], also returning the records decoded (see
    /// [`Bundle::parse_decoded`]), for a ceremony that uses them.
    fn read_decoded(path: &Path) -> Result<(Self, Vec<PublicRecord>), BundleError>;

    /// Writes the bundle (never over an existing file unless `force`).
    fn write(&self, path: &Path, force: bool) -> Result<(), SecretIoError>;
}

impl BundleFile for Bundle {
    fn read(path: &Path) -> Result<Bundle, BundleError> {
        Bundle::parse(&bundle_text(path)?)
    }

    fn read_decoded(path: &Path) -> Result<(Bundle, Vec<PublicRecord>), BundleError> {
        Bundle::parse_decoded(&bundle_text(path)?)
    }

    fn write(&self, path: &Path, force: bool) -> Result<(), SecretIoError> {
        write_private_file(path, self.to_json().as_bytes(), force)
    }
}

/// A bundle file's text, refusing a file larger than any bundle could be.
fn bundle_text(path: &Path) -> Result<String, BundleError> {
    let read_err = |source| BundleError::Read {
        path: path.to_path_buf(),
        source,
    };
    let file = File::open(path).map_err(read_err)?;
    let len = file.metadata().map_err(read_err)?.len();
    if len > MAX_BUNDLE_BYTES {
        return Err(BundleError::TooLarge {
            path: path.to_path_buf(),
            len,
        });
    }
    let mut text = String::new();
    file.take(MAX_BUNDLE_BYTES)
        .read_to_string(&mut text)
        .map_err(read_err)?;
    Ok(text)
}

/// Where a set's next bundle version goes (add-card): a file of its own, or the old path
/// with the old version kept beside it as `FILE.vN`. Planned, and its files checked, before
/// any card is touched.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BundleUpdate {
    /// The bundle the ceremony started from.
    pub source: PathBuf,
    /// Where the new version is written.
    pub target: PathBuf,
    /// Where the old version is kept, when the new one takes its place.
    pub backup: Option<PathBuf>,
}

/// Why a set's new bundle version was not written (the cards already hold it).
#[derive(Debug, thiserror::Error)]
pub enum BundleUpdateError {
    /// The new version could not be built from the old bundle and the new record.
    #[error("the new bundle could not be made: {0}")]
    Made(#[source] BundleError),
    /// The old version could not be moved aside.
    #[error("cannot keep the old bundle as {}: {source}", .backup.display())]
    KeepOld {
        /// Where it was to go.
        backup: PathBuf,
        /// The operating system's reason.
        #[source]
        source: io::Error,
    },
    /// The new version could not be written.
    #[error("{source}{}", .backup.as_ref().map(|b| format!(" (the previous version is at {})", b.display())).unwrap_or_default())]
    Write {
        /// Where the old version now is, if it was moved.
        backup: Option<PathBuf>,
        /// Why.
        #[source]
        source: SecretIoError,
    },
}

impl BundleUpdate {
    /// Plans the update of `source` (holding set version `version`): into `out` when given,
    /// else in place keeping the old version as `SOURCE.vVERSION`; refuses existing files
    /// (unless `force`) now, so that nothing fails after the cards were written.
    pub fn plan(
        source: &Path,
        out: Option<&Path>,
        version: u16,
        force: bool,
    ) -> Result<BundleUpdate, SecretIoError> {
        let (target, backup) = match out {
            Some(out) => (out.to_path_buf(), None),
            None => (
                source.to_path_buf(),
                Some(PathBuf::from(format!("{}.v{version}", source.display()))),
            ),
        };
        check_writable(backup.as_deref().unwrap_or(&target), force)?;
        Ok(BundleUpdate {
            source: source.to_path_buf(),
            target,
            backup,
        })
    }

    /// Writes `old` extended with the new `records` (their public parts) as planned.
    pub fn write(
        &self,
        old: &Bundle,
        records: &[Vec<u8>],
        force: bool,
    ) -> Result<Bundle, BundleUpdateError> {
        let updated = old.with_records(records).map_err(BundleUpdateError::Made)?;
        if let Some(backup) = &self.backup {
            std::fs::rename(&self.source, backup).map_err(|source| BundleUpdateError::KeepOld {
                backup: backup.clone(),
                source,
            })?;
        }
        // In place the target was just moved aside, so it is never overwritten.
        let force = force && self.backup.is_none();
        updated
            .write(&self.target, force)
            .map_err(|source| BundleUpdateError::Write {
                backup: self.backup.clone(),
                source,
            })?;
        Ok(updated)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::log::tests::TempDir;
    use quorum_protocol::sharing::{enroll, testkit};
    use rand::SeedableRng;
    use rand_chacha::ChaCha20Rng;

    fn enrolled() -> quorum_protocol::sharing::Enrollment {
        let mut rng = ChaCha20Rng::seed_from_u64(4);
        let (_, people) = testkit::setup(3, &mut rng);
        enroll(&[0x42; 32], 2, "root-ca", &people, &mut rng).unwrap()
    }

    fn bundle() -> Bundle {
        Bundle::from_enrollment(&enrolled())
    }

    #[test]
    fn an_update_in_place_keeps_the_old_version_beside_it() {
        let enrollment = enrolled();
        let old = Bundle::from_enrollment(&enrollment);
        let dir = TempDir::new("bundle-update");
        let path = dir.0.join("set.json");
        old.write(&path, false).unwrap();
        let update = BundleUpdate::plan(&path, None, 1, false).unwrap();
        assert_eq!(update.target, path);
        assert_eq!(update.backup, Some(dir.0.join("set.json.v1")));
        let card = &enrollment.cards[0].public;
        let new = update
            .write(&old, std::slice::from_ref(card), false)
            .unwrap();
        assert_eq!(Bundle::read(&path).unwrap(), new);
        assert_eq!(Bundle::read(&dir.0.join("set.json.v1")).unwrap(), old);
        // A second update in place would overwrite that backup: refused before any card.
        assert!(matches!(
            BundleUpdate::plan(&path, None, 1, false),
            Err(SecretIoError::Exists(_))
        ));
    }

    #[test]
    fn an_update_to_its_own_file_leaves_the_old_one_alone() {
        let enrollment = enrolled();
        let old = Bundle::from_enrollment(&enrollment);
        let dir = TempDir::new("bundle-update");
        let path = dir.0.join("set.json");
        let out = dir.0.join("set-v2.json");
        old.write(&path, false).unwrap();
        let update = BundleUpdate::plan(&path, Some(&out), 1, false).unwrap();
        assert_eq!(update.backup, None);
        update
            .write(&old, &[enrollment.cards[1].public.clone()], false)
            .unwrap();
        assert_eq!(Bundle::read(&path).unwrap(), old);
        assert!(Bundle::read(&out).is_ok());
        assert!(matches!(
            BundleUpdate::plan(&path, Some(&out), 1, false),
            Err(SecretIoError::Exists(_))
        ));
    }

    #[test]
    fn a_failed_update_says_which_step_failed() {
        let enrollment = enrolled();
        let old = Bundle::from_enrollment(&enrollment);
        let dir = TempDir::new("bundle-update");
        let path = dir.0.join("gone.json");
        let update = BundleUpdate::plan(&path, None, 1, false).unwrap();
        let card = std::slice::from_ref(&enrollment.cards[0].public);
        let e = update.write(&old, card, false).unwrap_err();
        assert!(matches!(e, BundleUpdateError::KeepOld { .. }), "{e}");
        assert!(e.to_string().contains("gone.json.v1"), "{e}");
        let e = update.write(&old, &[vec![0x51; 3]], false).unwrap_err();
        assert!(matches!(e, BundleUpdateError::Made(_)), "{e}");
    }

    #[test]
    fn a_written_bundle_reads_back_and_is_never_overwritten() {
        let bundle = bundle();
        let dir = TempDir::new("bundle");
        let path = dir.0.join("root-ca.quorum.json");
        bundle.write(&path, false).unwrap();
        assert_eq!(Bundle::read(&path).unwrap(), bundle);
        assert!(matches!(
            bundle.write(&path, false),
            Err(SecretIoError::Exists(_))
        ));
        bundle.write(&path, true).unwrap();
    }

    #[test]
    fn a_cut_file_is_refused_as_truncated() {
        let json = bundle().to_json();
        let dir = TempDir::new("bundle");
        let path = dir.0.join("cut.json");
        std::fs::write(&path, &json[..json.len() / 2]).unwrap();
        let err = Bundle::read(&path).unwrap_err();
        assert!(err.to_string().contains("truncated"), "{err}");
    }

    #[test]
    fn files_no_bundle_could_be_are_refused_unread() {
        let dir = TempDir::new("bundle");
        let path = dir.0.join("huge.json");
        File::create(&path)
            .unwrap()
            .set_len(MAX_BUNDLE_BYTES + 1)
            .unwrap();
        assert!(matches!(
            Bundle::read(&path),
            Err(BundleError::TooLarge { len, .. }) if len == MAX_BUNDLE_BYTES + 1
        ));
        assert!(matches!(
            Bundle::read(&dir.0.join("absent.json")),
            Err(BundleError::Read { .. })
        ));
    }
}
