//! TCP reads that carry the kernel's receive time (`SO_TIMESTAMPNS`), so that a carrier times a
//! bot frame by when it reached its socket, not by when its own busy process got round to it.
//!
//! On Linux a TCP read returns the software receive time of the last segment it consumed, in
//! `CLOCK_REALTIME`. Bytes that arrived earlier in the same read get that later time, so a frame
//! is never timed earlier than it arrived.

use std::io;
use std::os::fd::AsRawFd;
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::task::{ready, Context, Poll};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use tokio::io::{AsyncRead, AsyncWrite, Interest, ReadBuf};
use tokio::net::TcpStream;

/// A receive time older than this is not trusted: the wall clock was stepped.
const MAX_AGE: Duration = Duration::from_secs(10);

/// A TCP stream whose reads record the kernel's receive time in a [`ReceiveClock`].
#[derive(Debug)]
pub struct TimestampedTcp {
    inner: TcpStream,
    clock: ReceiveClock,
}

/// The receive time of the latest read of a [`TimestampedTcp`].
#[derive(Debug, Clone, Default)]
pub struct ReceiveClock {
    /// Nanoseconds since the Unix epoch; 0 until a read carried a time.
    last_read_nanos: Arc<AtomicU64>,
}

impl ReceiveClock {
    /// Returns when the bytes of the latest read reached the socket, on the monotonic clock, or
    /// `None` when the kernel gave no usable time. Linux may give none for the first segments
    /// after the option is set, because it turns receive timestamps on through deferred work.
    pub fn last_read(&self) -> Option<Instant> {
        let nanos = self.last_read_nanos.load(Ordering::Relaxed);
        if nanos == 0 {
            return None;
        }
        let received = UNIX_EPOCH + Duration::from_nanos(nanos);
        let (wall_now, now) = (SystemTime::now(), Instant::now());
        let age = wall_now.duration_since(received).ok().filter(|age| *age <= MAX_AGE)?;
        now.checked_sub(age)
    }
}

impl TimestampedTcp {
    /// Turns on receive timestamps for `stream`.
    pub fn new(stream: TcpStream) -> io::Result<(TimestampedTcp, ReceiveClock)> {
        let enable: libc::c_int = 1;
        // SAFETY: the descriptor is open for as long as `stream` lives, and the option value is a
        // c_int of the size passed.
        let result = unsafe {
            libc::setsockopt(
                stream.as_raw_fd(),
                libc::SOL_SOCKET,
                libc::SO_TIMESTAMPNS,
                (&enable as *const libc::c_int).cast(),
                std::mem::size_of::<libc::c_int>() as libc::socklen_t,
            )
        };
        if result != 0 {
            return Err(io::Error::last_os_error());
        }
        let clock = ReceiveClock::default();
        Ok((TimestampedTcp { inner: stream, clock: clock.clone() }, clock))
    }
}

/// Reads into `buffer` with `recvmsg` and returns the bytes read and the receive time in
/// nanoseconds since the Unix epoch, if the kernel attached one.
fn receive_with_time(fd: libc::c_int, buffer: &mut [u8]) -> io::Result<(usize, Option<u64>)> {
    let mut iov = libc::iovec { iov_base: buffer.as_mut_ptr().cast(), iov_len: buffer.len() };
    // Room for one control message holding a timespec, aligned for cmsghdr.
    let mut control = [0u64; 8];
    // SAFETY: msghdr is plain data; every pointer set below outlives the recvmsg call.
    let mut message: libc::msghdr = unsafe { std::mem::zeroed() };
    message.msg_iov = &mut iov;
    message.msg_iovlen = 1;
    message.msg_control = control.as_mut_ptr().cast();
    message.msg_controllen = std::mem::size_of_val(&control) as _;

    // SAFETY: `message` points at `iov` and `control`, which are valid for writes of the sizes
    // given.
    let read = unsafe { libc::recvmsg(fd, &mut message, libc::MSG_DONTWAIT) };
    if read < 0 {
        return Err(io::Error::last_os_error());
    }

    let mut nanos = None;
    // SAFETY: the CMSG macros walk the control buffer the kernel filled, within msg_controllen.
    unsafe {
        let mut header = libc::CMSG_FIRSTHDR(&message);
        while !header.is_null() {
            if (*header).cmsg_level == libc::SOL_SOCKET && (*header).cmsg_type == libc::SCM_TIMESTAMPNS {
                let time = std::ptr::read_unaligned(libc::CMSG_DATA(header).cast::<libc::timespec>());
                nanos = Some(time.tv_sec as u64 * 1_000_000_000 + time.tv_nsec as u64);
            }
            header = libc::CMSG_NXTHDR(&message, header);
        }
    }
    Ok((read as usize, nanos))
}

impl AsyncRead for TimestampedTcp {
    fn poll_read(self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &mut ReadBuf<'_>) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        loop {
            ready!(this.inner.poll_read_ready(cx))?;
            let fd = this.inner.as_raw_fd();
            let unfilled = buf.initialize_unfilled();
            match this.inner.try_io(Interest::READABLE, || receive_with_time(fd, unfilled)) {
                Ok((read, nanos)) => {
                    if let Some(nanos) = nanos.filter(|nanos| *nanos > 0) {
                        this.clock.last_read_nanos.store(nanos, Ordering::Relaxed);
                    }
                    buf.advance(read);
                    return Poll::Ready(Ok(()));
                }
                // The readiness was stale; try_io cleared it, so poll again.
                Err(error) if error.kind() == io::ErrorKind::WouldBlock => continue,
                Err(error) => return Poll::Ready(Err(error)),
            }
        }
    }
}

impl AsyncWrite for TimestampedTcp {
    fn poll_write(self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.get_mut().inner).poll_write(cx, buf)
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.get_mut().inner).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().inner).poll_flush(cx)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().inner).poll_shutdown(cx)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    #[tokio::test]
    async fn read_carries_the_time_the_bytes_arrived() {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let client = TcpStream::connect(listener.local_addr().unwrap()).await.unwrap();
        let (mut server, _) = listener.accept().await.unwrap();
        let (mut reader, clock) = TimestampedTcp::new(client).unwrap();
        assert_eq!(clock.last_read(), None);

        // Linux turns receive timestamps on through deferred work, so the first segments after
        // the option is set may carry none: probe until one does.
        let mut buffer = [0u8; 16];
        for _ in 0..100 {
            server.write_all(b"probe").await.unwrap();
            reader.read_exact(&mut buffer[..5]).await.unwrap();
            if clock.last_read().is_some() {
                break;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }

        let before_send = Instant::now();
        server.write_all(b"frame").await.unwrap();
        // The bytes wait in the socket while the reader is busy elsewhere.
        std::thread::sleep(Duration::from_millis(50));
        let read = reader.read(&mut buffer).await.unwrap();
        let read_at = Instant::now();

        assert_eq!(&buffer[..read], b"frame");
        let arrived = clock.last_read().expect("the kernel attached a receive time");
        assert!(arrived >= before_send - Duration::from_millis(1), "arrived {arrived:?} before it was sent");
        assert!(read_at - arrived >= Duration::from_millis(45), "the receive time is the read time, not the arrival");
    }
}
