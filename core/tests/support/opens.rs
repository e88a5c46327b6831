//! Which files below a tree get opened, as the kernel sees it (inotify, Linux).
//!
//! A test that must prove a save did not read a file cannot trust the code under test to
//! say so, and running as root defeats `chmod 000`; access times depend on mount options
//! (`relatime`). inotify reports every `open(2)` of a file in a watched directory
//! (`IN_OPEN`), whoever opens it; `stat(2)` is not reported. Every directory of the tree is
//! watched (inotify is not recursive).

use std::collections::HashMap;
use std::path::{Path, PathBuf};

const IN_ACCESS: u32 = 0x1;
const IN_OPEN: u32 = 0x20;
const IN_Q_OVERFLOW: u32 = 0x4000;
const IN_ISDIR: u32 = 0x4000_0000;

pub struct OpenWatch {
    fd: i32,
    dirs: HashMap<i32, PathBuf>,
}

impl OpenWatch {
    /// Starts watching every directory below `root` (and `root`).
    pub fn new(root: &Path) -> OpenWatch {
        // SAFETY: plain system calls on a descriptor this value owns.
        let fd = unsafe { libc::inotify_init1(libc::IN_NONBLOCK | libc::IN_CLOEXEC) };
        assert!(fd >= 0, "inotify_init1: {}", std::io::Error::last_os_error());
        let mut watch = OpenWatch {
            fd,
            dirs: HashMap::new(),
        };
        let mut stack = vec![root.to_path_buf()];
        while let Some(dir) = stack.pop() {
            let path = std::ffi::CString::new(dir.as_os_str().as_encoded_bytes()).unwrap();
            // SAFETY: `path` is a NUL-terminated string that outlives the call.
            let wd = unsafe { libc::inotify_add_watch(fd, path.as_ptr(), IN_OPEN | IN_ACCESS) };
            assert!(
                wd >= 0,
                "inotify_add_watch {}: {}",
                dir.display(),
                std::io::Error::last_os_error()
            );
            for entry in std::fs::read_dir(&dir).unwrap() {
                let entry = entry.unwrap();
                if entry.file_type().unwrap().is_dir() {
                    stack.push(entry.path());
                }
            }
            watch.dirs.insert(wd, dir);
        }
        watch
    }

    /// The files opened or read since the last call (directories, which a walk opens, are
    /// left out). Panics if the kernel's queue overflowed (thousands of opens).
    pub fn opened_files(&self) -> Vec<PathBuf> {
        let mut files = Vec::new();
        let mut buf = vec![0u8; 64 * 1024];
        loop {
            // SAFETY: reads into a buffer of the length given.
            let n = unsafe { libc::read(self.fd, buf.as_mut_ptr().cast(), buf.len()) };
            if n <= 0 {
                break;
            }
            let mut at = 0usize;
            while at + 16 <= n as usize {
                let wd = i32::from_ne_bytes(buf[at..at + 4].try_into().unwrap());
                let mask = u32::from_ne_bytes(buf[at + 4..at + 8].try_into().unwrap());
                let len = u32::from_ne_bytes(buf[at + 12..at + 16].try_into().unwrap()) as usize;
                let name = &buf[at + 16..at + 16 + len];
                let name = String::from_utf8_lossy(name.split(|b| *b == 0).next().unwrap_or(b"")).into_owned();
                assert!(
                    mask & IN_Q_OVERFLOW == 0,
                    "the inotify queue overflowed: thousands of files were opened"
                );
                if mask & IN_ISDIR == 0 {
                    if let Some(dir) = self.dirs.get(&wd) {
                        files.push(dir.join(name));
                    }
                }
                at += 16 + len;
            }
        }
        files.sort();
        files.dedup();
        files
    }
}

impl Drop for OpenWatch {
    fn drop(&mut self) {
        // SAFETY: closes the descriptor this value owns, once.
        unsafe { libc::close(self.fd) };
    }
}
