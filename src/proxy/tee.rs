//! A body wrapper that forwards every frame untouched while keeping a copy
//! of the first `limit` bytes; when the body ends (or is dropped early) the
//! copy goes to a callback. Memory per exchange is bounded by `limit`.
//!
//! A body dropped before its end was abandoned by whoever read it (the
//! client stopped reading: a browser following a redirect drops its body);
//! that is told apart from a body whose source failed
//! ([`Captured::interrupted`]).

use crate::capture::Captured;
use bytes::Bytes;
use hyper::body::{Body as HttpBody, Frame, SizeHint};
use std::pin::Pin;
use std::task::{Context, Poll};

/// Called once with what was captured, and whether the reader stopped
/// reading before the end (dropped the body); a failure of the source is in
/// [`Captured::interrupted`] instead.
pub type OnDone = Box<dyn FnOnce(Captured, bool) + Send + Sync>;

/// See the module docs.
pub struct TeeBody<B: HttpBody> {
    inner: B,
    limit: usize,
    captured: Captured,
    done: Option<OnDone>,
}

impl<B: HttpBody> TeeBody<B> {
    /// Wrap `inner`, keeping at most `limit` bytes, calling `done` at the end.
    pub fn new(inner: B, limit: usize, done: OnDone) -> TeeBody<B> {
        TeeBody {
            inner,
            limit,
            captured: Captured::default(),
            done: Some(done),
        }
    }

    fn finish(&mut self, reader_stopped: bool) {
        if let Some(done) = self.done.take() {
            let captured = std::mem::take(&mut self.captured);
            // Building the record must never break the response the app is
            // receiving: a bug there costs the record, not the traffic.
            let built = std::panic::catch_unwind(std::panic::AssertUnwindSafe(move || {
                done(captured, reader_stopped)
            }));
            if built.is_err() {
                tracing::error!(
                    "recording an exchange failed (a bug); the traffic was not affected"
                );
            }
        }
    }
}

impl<B: HttpBody> Drop for TeeBody<B> {
    fn drop(&mut self) {
        // Servers stop polling once `is_end_stream` says so, and bodies known
        // to be empty may never be polled at all: neither is an interruption.
        // Anything else dropped early was abandoned by its reader.
        let stopped = self.done.is_some() && !self.inner.is_end_stream();
        self.finish(stopped);
    }
}

impl<B> HttpBody for TeeBody<B>
where
    B: HttpBody<Data = Bytes> + Unpin,
    B::Error: std::error::Error + 'static,
{
    type Data = Bytes;
    type Error = B::Error;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, B::Error>>> {
        let this = &mut *self;
        let polled = Pin::new(&mut this.inner).poll_frame(cx);
        match &polled {
            Poll::Ready(Some(Ok(frame))) => {
                if let Some(data) = frame.data_ref() {
                    this.captured.total += data.len() as u64;
                    let room = this.limit.saturating_sub(this.captured.bytes.len());
                    if data.len() > room {
                        this.captured.truncated = true;
                    }
                    let take = room.min(data.len());
                    this.captured.bytes.extend_from_slice(&data[..take]);
                }
                if this.inner.is_end_stream() {
                    this.finish(false);
                }
            }
            Poll::Ready(Some(Err(e))) => {
                this.captured.interrupted = Some(error_chain(e));
                this.finish(false);
            }
            Poll::Ready(None) => this.finish(false),
            Poll::Pending => {}
        }
        polled
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}

/// An error with its sources (`network error: error reading a body from
/// connection: ...`), the way a person needs it; an upstream deadline
/// ([`super::upstream::Deadline`]) is named as such.
pub fn error_chain(e: &(dyn std::error::Error + 'static)) -> String {
    if let Some(d) = super::upstream::deadline_in(e) {
        return d.to_string();
    }
    let mut parts = vec![e.to_string()];
    let mut cur = e.source();
    while let Some(s) = cur {
        let text = s.to_string();
        if parts.last() != Some(&text) {
            parts.push(text);
        }
        cur = s.source();
    }
    parts.join(": ")
}
