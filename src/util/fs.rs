//! Files that later runs trust: atomic writes (a kill leaves the old file or the new one,
//! never half of one) and the lock that keeps two processes off one output.

use crate::error::{Error, Result};
use std::fs::{File, OpenOptions, TryLockError};
use std::io::{Read, Write};
use std::path::{Path, PathBuf};

fn io(path: &Path) -> impl Fn(std::io::Error) -> Error + '_ {
    move |source| Error::Io { path: path.display().to_string(), source }
}

/// Write `bytes` to `path` atomically: a temporary file in the same folder (so the rename
/// stays on one file system), flushed to disk, then renamed over `path`. Readers see the old
/// file or the new one, never a torn one; a kill leaves at most a `.NAME.PID.tmp` behind.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> Result<()> {
    let name = path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_else(|| "out".into());
    let tmp = path.with_file_name(format!(".{name}.{}.tmp", std::process::id()));
    let written = (|| {
        let mut f = File::create(&tmp).map_err(io(&tmp))?;
        f.write_all(bytes).map_err(io(&tmp))?;
        f.sync_all().map_err(io(&tmp))?;
        std::fs::rename(&tmp, path).map_err(io(path))
    })();
    if written.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    written
}

/// A CSV built in memory and written with [`write_atomic`]; `fill` writes the records.
pub fn write_csv_atomic(
    path: &Path,
    fill: impl FnOnce(&mut csv::Writer<Vec<u8>>) -> std::result::Result<(), csv::Error>,
) -> Result<()> {
    let mut w = csv::Writer::from_writer(Vec::new());
    let csv_err = |e: &dyn std::fmt::Display| Error::Io {
        path: path.display().to_string(),
        source: std::io::Error::other(e.to_string()),
    };
    fill(&mut w).map_err(|e| csv_err(&e))?;
    let bytes = w.into_inner().map_err(|e| csv_err(&e))?;
    write_atomic(path, &bytes)
}

/// An exclusive lock on a lock file, held until dropped: the second process that asks for the
/// same lock gets an error naming the holder. It is an OS advisory lock (`flock` on Linux) on
/// the open file, which the kernel releases when the holder exits or is killed, so a lock file
/// left behind by a dead process never blocks: the file is kept (deleting it would let two
/// processes lock two different files of one name) and simply locked again.
#[derive(Debug)]
pub struct FileLock {
    _file: File,
    path: PathBuf,
}

impl FileLock {
    /// Lock `lock_path` (created when missing) for `target` (what it protects, for the
    /// message; `advice` says what to do instead of waiting). The holder's pid and command
    /// line are written into the file so the refusal can name them.
    pub fn acquire(lock_path: &Path, target: &Path, advice: &str) -> Result<FileLock> {
        let mut f = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(lock_path)
            .map_err(io(lock_path))?;
        match f.try_lock() {
            Ok(()) => {}
            Err(TryLockError::WouldBlock) => {
                let mut holder = String::new();
                let _ = f.read_to_string(&mut holder);
                let holder = holder.trim().replace('\n', ", ");
                return Err(Error::InUse {
                    path: target.display().to_string(),
                    message: format!(
                        "in use by another colaw process ({}); {advice}. The lock ({}) is released when that \
                         process exits, so a left-over lock file never blocks",
                        if holder.is_empty() { "starting".to_string() } else { holder },
                        lock_path.display()
                    ),
                });
            }
            Err(TryLockError::Error(e)) => {
                return Err(Error::InUse {
                    path: target.display().to_string(),
                    message: format!(
                        "cannot lock {} ({e}); the file system may not support locks",
                        lock_path.display()
                    ),
                })
            }
        }
        let who = format!(
            "pid {}: {}\n",
            std::process::id(),
            // args_os: `args()` panics on an argument that is not UTF-8.
            std::env::args_os()
                .map(|a| a.to_string_lossy().into_owned())
                .collect::<Vec<_>>()
                .join(" ")
                .chars()
                .take(300)
                .collect::<String>()
        );
        f.set_len(0).map_err(io(lock_path))?;
        f.write_all(who.as_bytes()).map_err(io(lock_path))?;
        f.flush().map_err(io(lock_path))?;
        Ok(FileLock { _file: f, path: lock_path.to_path_buf() })
    }

    /// The lock file.
    pub fn path(&self) -> &Path {
        &self.path
    }
}

/// The lock file that guards `path`: `NAME.lock` beside it.
pub fn lock_path_for(path: &Path) -> PathBuf {
    let name = path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_else(|| "out".into());
    path.with_file_name(format!("{name}.lock"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn atomic_write_replaces_whole_file_and_leaves_no_temp() {
        let d = tempfile::tempdir().unwrap();
        let p = d.path().join("a.csv");
        std::fs::write(&p, "old").unwrap();
        write_atomic(&p, b"new,contents\n").unwrap();
        assert_eq!(std::fs::read_to_string(&p).unwrap(), "new,contents\n");
        write_csv_atomic(&d.path().join("b.csv"), |w| w.write_record(["x", "y"])).unwrap();
        assert_eq!(std::fs::read_to_string(d.path().join("b.csv")).unwrap(), "x,y\n");
        let names: Vec<_> = std::fs::read_dir(d.path()).unwrap().map(|e| e.unwrap().file_name()).collect();
        assert_eq!(names.len(), 2, "{names:?}");
    }

    #[test]
    fn second_lock_is_refused_and_released_on_drop() {
        let d = tempfile::tempdir().unwrap();
        let out = d.path().join("r.jsonl");
        let lp = lock_path_for(&out);
        let first = FileLock::acquire(&lp, &out, "use another --out").unwrap();
        let e = FileLock::acquire(&lp, &out, "use another --out").unwrap_err().to_string();
        assert!(e.contains("r.jsonl") && e.contains("in use") && e.contains("pid"), "{e}");
        drop(first);
        // The file is still there; a new holder locks it again.
        assert!(lp.exists());
        FileLock::acquire(&lp, &out, "x").unwrap();
    }
}
