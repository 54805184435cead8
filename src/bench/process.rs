//! Readings of the bench's own process on Linux: CPU time, resident memory, and the open-file
//! limit that bounds how many sockets it can open.

use std::time::Duration;

/// Returns the CPU time this process has used so far, user and system, all threads included and
/// child processes excluded.
pub fn cpu_time() -> std::io::Result<Duration> {
    usage_cpu_time(libc::RUSAGE_SELF)
}

/// Returns the CPU time used by the child processes of this process that have ended and been
/// waited for.
pub fn children_cpu_time() -> std::io::Result<Duration> {
    usage_cpu_time(libc::RUSAGE_CHILDREN)
}

fn usage_cpu_time(who: libc::c_int) -> std::io::Result<Duration> {
    let mut usage = std::mem::MaybeUninit::<libc::rusage>::zeroed();
    // SAFETY: getrusage fills the whole struct it is given, and the pointer is to storage of that
    // type.
    let result = unsafe { libc::getrusage(who, usage.as_mut_ptr()) };
    if result != 0 {
        return Err(std::io::Error::last_os_error());
    }
    // SAFETY: getrusage returned 0, so it initialised the struct.
    let usage = unsafe { usage.assume_init() };
    let as_duration =
        |time: libc::timeval| Duration::from_secs(time.tv_sec as u64) + Duration::from_micros(time.tv_usec as u64);
    Ok(as_duration(usage.ru_utime) + as_duration(usage.ru_stime))
}

/// Returns this process's resident set size in bytes, from `VmRSS` in `/proc/self/status`.
pub fn resident_bytes() -> std::io::Result<u64> {
    let status = std::fs::read_to_string("/proc/self/status")?;
    parse_vm_rss(&status).ok_or_else(|| {
        std::io::Error::new(std::io::ErrorKind::InvalidData, "/proc/self/status has no valid VmRSS line")
    })
}

fn parse_vm_rss(status: &str) -> Option<u64> {
    let line = status.lines().find(|line| line.starts_with("VmRSS:"))?;
    let kib: u64 = line.trim_start_matches("VmRSS:").trim().trim_end_matches("kB").trim().parse().ok()?;
    Some(kib * 1024)
}

/// The open-file limit of this process after [`raise_open_file_limit`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OpenFileLimit {
    pub soft: u64,
    pub hard: u64,
}

/// Raises the soft open-file limit to the hard limit, because every simulated call needs a socket
/// on each side, and returns the limit now in force.
pub fn raise_open_file_limit() -> std::io::Result<OpenFileLimit> {
    let mut limit = libc::rlimit { rlim_cur: 0, rlim_max: 0 };
    // SAFETY: getrlimit writes one rlimit into the struct it is given.
    if unsafe { libc::getrlimit(libc::RLIMIT_NOFILE, &mut limit) } != 0 {
        return Err(std::io::Error::last_os_error());
    }
    if limit.rlim_cur < limit.rlim_max {
        let raised = libc::rlimit { rlim_cur: limit.rlim_max, rlim_max: limit.rlim_max };
        // SAFETY: setrlimit only reads the struct it is given.
        if unsafe { libc::setrlimit(libc::RLIMIT_NOFILE, &raised) } != 0 {
            return Err(std::io::Error::last_os_error());
        }
        limit = raised;
    }
    Ok(OpenFileLimit { soft: limit.rlim_cur, hard: limit.rlim_max })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn vm_rss_is_read_in_bytes() {
        let status = "Name:\tcobranza\nVmPeak:\t  900 kB\nVmRSS:\t   12345 kB\nThreads:\t3\n";
        assert_eq!(parse_vm_rss(status), Some(12345 * 1024));
    }

    #[test]
    fn missing_vm_rss_is_none() {
        assert_eq!(parse_vm_rss("Name:\tcobranza\n"), None);
    }
}
