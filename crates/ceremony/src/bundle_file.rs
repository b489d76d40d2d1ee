//! Bundle files: reading one without trusting its size, writing one without replacing
//! another. The format itself is `quorum_protocol::bundle`.

use std::fs::File;
use std::io::Read;
use std::path::Path;

use quorum_protocol::bundle::{Bundle, BundleError, MAX_BUNDLE_BYTES};

use crate::secret_io::{write_private_file, SecretIoError};

/// A [`Bundle`] as a file on disk.
pub trait BundleFile: Sized {
    /// Reads and parses a bundle file (see [`Bundle::parse`]), refusing files no bundle could be.
    fn read(path: &Path) -> Result<Self, BundleError>;

    /// Writes the bundle (never over an existing file unless `force`).
    fn write(&self, path: &Path, force: bool) -> Result<(), SecretIoError>;
}

impl BundleFile for Bundle {
    fn read(path: &Path) -> Result<Bundle, BundleError> {
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
        Bundle::parse(&text)
    }

    fn write(&self, path: &Path, force: bool) -> Result<(), SecretIoError> {
        write_private_file(path, self.to_json().as_bytes(), force)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::log::tests::TempDir;
    use quorum_protocol::sharing::{enroll, testkit};
    use rand::SeedableRng;
    use rand_chacha::ChaCha20Rng;

    fn bundle() -> Bundle {
        let mut rng = ChaCha20Rng::seed_from_u64(4);
        let (_, people) = testkit::setup(3, &mut rng);
        let enrollment = enroll(&[0x42; 32], 2, "root-ca", &people, &mut rng).unwrap();
        Bundle::from_enrollment(&enrollment)
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
