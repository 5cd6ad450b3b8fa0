//! oauthscope patch: a deadline for a peer's first byte.
//!
//! hyper-util's automatic HTTP/1-or-HTTP/2 detection, the read that follows
//! `CONNECT` and the TLS handshake all wait for the client with no time
//! limit, so a client that connects and then sends nothing holds a task and
//! a socket forever. [`FirstByte`] fails such a read with
//! [`std::io::ErrorKind::TimedOut`] once the deadline passes; after the first
//! byte it is a plain pass-through (later idleness is hyper's business:
//! header-read timeout, HTTP/2 keep-alive).

use std::{
    future::Future,
    io,
    pin::Pin,
    task::{Context, Poll},
    time::Duration,
};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::time::Sleep;

/// An I/O stream whose first read must yield data before a deadline.
pub(crate) struct FirstByte<T> {
    inner: T,
    deadline: Option<Pin<Box<Sleep>>>,
}

impl<T> FirstByte<T> {
    /// Wrap `inner`; `None` means no deadline.
    pub(crate) fn new(inner: T, timeout: Option<Duration>) -> Self {
        FirstByte {
            inner,
            deadline: timeout.map(|t| Box::pin(tokio::time::sleep(t))),
        }
    }
}

impl<T: AsyncRead + Unpin> AsyncRead for FirstByte<T> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let before = buf.filled().len();
        let this = &mut *self;
        match Pin::new(&mut this.inner).poll_read(cx, buf) {
            Poll::Ready(res) => {
                if res.is_err() || buf.filled().len() > before {
                    this.deadline = None;
                }
                Poll::Ready(res)
            }
            Poll::Pending => {
                let expired = this
                    .deadline
                    .as_mut()
                    .is_some_and(|sleep| sleep.as_mut().poll(cx).is_ready());
                if expired {
                    this.deadline = None;
                    Poll::Ready(Err(io::Error::new(
                        io::ErrorKind::TimedOut,
                        "the client sent nothing before the deadline",
                    )))
                } else {
                    Poll::Pending
                }
            }
        }
    }
}

impl<T: AsyncWrite + Unpin> AsyncWrite for FirstByte<T> {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.inner).poll_write(cx, buf)
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.inner).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }
}

/// oauthscope patch: a lingering close (RFC 9112 §9.6).
///
/// A server that answers before it has read the whole request (a `431` for
/// an oversized head, a `400`) and then closes while the client is still
/// sending makes the kernel reset the connection; the client's next write
/// fails and it often never reads the answer. This happens inside TLS in
/// particular, where the client writes record by record. [`Linger`]'s
/// shutdown first shuts down the write side (the answer and, for TLS,
/// `close_notify` are on their way), then reads and discards what the client
/// still sends until it closes, for at most [`LINGER_FOR`] and
/// [`LINGER_BYTES`].
pub struct Linger<T> {
    inner: T,
    state: LingerState,
}

enum LingerState {
    Open,
    Draining { until: Pin<Box<Sleep>>, read: usize },
    Done,
}

/// Longest a closing connection keeps reading what the client still sends.
pub const LINGER_FOR: Duration = Duration::from_secs(2);

/// Most bytes a closing connection reads and discards.
pub const LINGER_BYTES: usize = 4 * 1024 * 1024;

impl<T> Linger<T> {
    /// Wrap `inner`.
    pub fn new(inner: T) -> Self {
        Linger {
            inner,
            state: LingerState::Open,
        }
    }
}

impl<T: AsyncRead + Unpin> AsyncRead for Linger<T> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_read(cx, buf)
    }
}

impl<T: AsyncRead + AsyncWrite + Unpin> AsyncWrite for Linger<T> {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.inner).poll_write(cx, buf)
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let this = &mut *self;
        loop {
            match &mut this.state {
                LingerState::Open => {
                    match Pin::new(&mut this.inner).poll_shutdown(cx) {
                        Poll::Ready(Ok(())) => {}
                        // The peer is gone already: nothing to linger for.
                        Poll::Ready(Err(e)) => {
                            this.state = LingerState::Done;
                            return Poll::Ready(Err(e));
                        }
                        Poll::Pending => return Poll::Pending,
                    }
                    this.state = LingerState::Draining {
                        until: Box::pin(tokio::time::sleep(LINGER_FOR)),
                        read: 0,
                    };
                }
                LingerState::Draining { until, read } => {
                    let mut scratch = [0u8; 8192];
                    let mut rb = ReadBuf::new(&mut scratch);
                    match Pin::new(&mut this.inner).poll_read(cx, &mut rb) {
                        Poll::Ready(Ok(())) if !rb.filled().is_empty() => {
                            *read += rb.filled().len();
                            if *read <= LINGER_BYTES {
                                continue;
                            }
                            this.state = LingerState::Done;
                        }
                        // End of stream, or an error: the client is done.
                        Poll::Ready(_) => this.state = LingerState::Done,
                        Poll::Pending => {
                            if until.as_mut().poll(cx).is_pending() {
                                return Poll::Pending;
                            }
                            this.state = LingerState::Done;
                        }
                    }
                }
                LingerState::Done => return Poll::Ready(Ok(())),
            }
        }
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.inner).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }
}
