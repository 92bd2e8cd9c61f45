//! Files that later runs trust: atomic writes (a kill leaves the old file or the new one,
//! never half of one) and the lock that keeps two processes off one output.

use crate::error::{Error, Result};
use std::fs::{File, OpenOptions, TryLockError};
use std::io::{Read, Write};
use std::path::{Path, PathBuf};

fn io(path: &Path) -> impl Fn(std::io::Error) -> Error + '_ {
    move |source| Error::Io { path: path.display().to_string(), source }
}

/// Where an output path really leads, which decides how it can be written.
enum Target {
    /// A regular file, or nothing yet: written to a temporary file beside it and renamed over
    /// it. A symbolic link is followed, so the link stays and the file it names is replaced.
    Renamable(PathBuf),
    /// Something that is not a regular file (`/dev/null`, `/dev/stdout`, a FIFO): written in
    /// place. Renaming over it would replace the device with a plain file, and for
    /// `/dev/null` as root that breaks every later program that reads or writes it.
    Special,
}

fn target(path: &Path) -> Target {
    match std::fs::metadata(path) {
        Ok(m) if !m.is_file() && !m.is_dir() => Target::Special,
        Ok(_) => Target::Renamable(std::fs::canonicalize(path).unwrap_or_else(|_| path.to_path_buf())),
        Err(_) => Target::Renamable(path.to_path_buf()),
    }
}

/// Write `bytes` to `path` atomically: a temporary file in the same folder (so the rename
/// stays on one file system), flushed to disk, then renamed over `path`. Readers see the old
/// file or the new one, never a torn one; a kill leaves at most a `.NAME.PID.tmp` behind.
/// A path that is a device or a FIFO (`-o /dev/null`) is written in place instead, and a
/// symbolic link keeps pointing where it did.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> Result<()> {
    let real = match target(path) {
        Target::Special => return write_in_place(path, bytes),
        Target::Renamable(real) => real,
    };
    let tmp = partial_path(&real);
    let written = (|| {
        let mut f = File::create(&tmp).map_err(io(&tmp))?;
        f.write_all(bytes).map_err(io(&tmp))?;
        f.sync_all().map_err(io(&tmp))?;
        std::fs::rename(&tmp, &real).map_err(io(path))
    })();
    if written.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    written
}

fn write_in_place(path: &Path, bytes: &[u8]) -> Result<()> {
    let mut f = OpenOptions::new().write(true).open(path).map_err(io(path))?;
    f.write_all(bytes).map_err(io(path))
}

/// The temporary file [`write_atomic`] would use for `path`, for writers that need a path
/// of their own (the SVG backend); [`commit_partial`] moves it to `path`. For a path that is
/// a device or a FIFO the temporary file lives in the system's temporary folder.
pub fn partial_path(path: &Path) -> PathBuf {
    let name = path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_else(|| "out".into());
    let file = format!(".{name}.{}.tmp", std::process::id());
    match target(path) {
        Target::Special => std::env::temp_dir().join(file),
        Target::Renamable(real) => real.with_file_name(file),
    }
}

/// Move a complete [`partial_path`] file to `path`: renamed over it, or, where `path` is a
/// device or a FIFO, copied into it and removed.
pub fn commit_partial(tmp: &Path, path: &Path) -> Result<()> {
    match target(path) {
        Target::Renamable(real) => std::fs::rename(tmp, real).map_err(io(path)),
        Target::Special => {
            let bytes = std::fs::read(tmp).map_err(io(tmp));
            let _ = std::fs::remove_file(tmp);
            write_in_place(path, &bytes?)
        }
    }
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
    fn a_symbolic_link_keeps_pointing_at_the_file_it_named() {
        let d = tempfile::tempdir().unwrap();
        let real = d.path().join("real.csv");
        std::fs::write(&real, "old").unwrap();
        let link = d.path().join("link.csv");
        std::os::unix::fs::symlink(&real, &link).unwrap();
        write_atomic(&link, b"new\n").unwrap();
        assert!(std::fs::symlink_metadata(&link).unwrap().file_type().is_symlink());
        assert_eq!(std::fs::read_to_string(&real).unwrap(), "new\n");
        assert_eq!(std::fs::read_dir(d.path()).unwrap().count(), 2);
    }

    #[test]
    fn a_fifo_is_written_in_place_not_replaced() {
        use std::os::unix::fs::FileTypeExt;
        let d = tempfile::tempdir().unwrap();
        let fifo = d.path().join("pipe");
        let made = std::process::Command::new("mkfifo").arg(&fifo).status().unwrap();
        assert!(made.success());
        let reader = {
            let fifo = fifo.clone();
            std::thread::spawn(move || std::fs::read_to_string(fifo).unwrap())
        };
        write_atomic(&fifo, b"through the pipe\n").unwrap();
        assert_eq!(reader.join().unwrap(), "through the pipe\n");
        assert!(std::fs::symlink_metadata(&fifo).unwrap().file_type().is_fifo());
        // The SVG writers' two-step path: a temporary file elsewhere, copied in, removed.
        let tmp = partial_path(&fifo);
        assert!(!tmp.starts_with(d.path()), "{}", tmp.display());
        std::fs::write(&tmp, "svg").unwrap();
        let reader = {
            let fifo = fifo.clone();
            std::thread::spawn(move || std::fs::read_to_string(fifo).unwrap())
        };
        commit_partial(&tmp, &fifo).unwrap();
        assert_eq!(reader.join().unwrap(), "svg");
        assert!(!tmp.exists());
        assert!(std::fs::symlink_metadata(&fifo).unwrap().file_type().is_fifo());
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
